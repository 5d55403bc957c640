-- Q17: I asked for a repair a month ago and no one came (field-service backlog and SLA).
select
    visit_id,
    ticket_id,
    customer_id,
    ticket_category,
    visit_status,
    requested_at,
    scheduled_at,
    round(waiting_hours / 24.0, 1) as waiting_days,
    is_sla_breached
from {{ ref('service_field_visits') }}
where is_backlog or is_sla_breached
order by is_backlog desc, waiting_hours desc
