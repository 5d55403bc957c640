-- Q14: I e-mailed a month ago asking to be contacted; nobody answered (inbound requests with no response within SLA).
select
    customer_id,
    source_system,
    channel,
    interaction_type,
    occurred_at,
    is_answered,
    answered_at,
    round(response_business_minutes / 60.0, 1) as response_business_hours,
    round(waiting_days, 1) as waiting_days
from {{ ref('service_inbound_requests') }}
where is_sla_breached
order by is_answered, waiting_days desc
