-- Q10: What share of service requests come from customer mis-operation that self-service could solve, and how much engineer time do they take?
select
    sum(case when is_misoperation then 1 else 0 end) as misoperation_tickets,
    count(*) as tickets,
    1.0 * sum(case when is_misoperation then 1 else 0 end) / count(*) as misoperation_share,
    1.0 * sum(case when is_self_service_solvable then 1 else 0 end) / count(*) as self_service_solvable_share,
    sum(case when is_misoperation then engineer_minutes else 0 end) / 60.0 as misoperation_engineer_hours,
    sum(case when is_misoperation then engineer_minutes else 0 end) / sum(engineer_minutes) as misoperation_engineer_time_share
from {{ ref('service_tickets') }}
