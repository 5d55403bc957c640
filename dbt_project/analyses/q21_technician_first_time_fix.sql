-- Q21: Which technician for this hard repair? (first-time-fix and resolution time by category)
select
    ticket_category,
    technician_id,
    first_visit_count,
    first_time_fix_rate,
    round(avg_resolution_business_hours, 1) as avg_resolution_business_hours,
    round(avg_hours_to_arrival, 1) as avg_hours_to_arrival,
    is_employed
from {{ ref('service_technician_performance') }}
where first_visit_count > 0
order by ticket_category, first_time_fix_rate desc, avg_resolution_business_hours
