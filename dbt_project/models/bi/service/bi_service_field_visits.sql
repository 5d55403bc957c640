{{ config(alias='service_field_visits') }}
-- marts.service_field_visits for BI tools: it holds no personal data, column for column.
select
    visit_id,
    ticket_id,
    customer_id,
    technician_id,
    visit_status,
    ticket_category,
    priority,
    product_id,
    visit_number,
    requested_at,
    requested_date,
    scheduled_at,
    arrived_at,
    completed_at,
    is_scheduled,
    is_completed,
    is_backlog,
    is_ticket_open,
    hours_to_arrival,
    waiting_hours,
    sla_arrival_target_hours,
    is_sla_breached,
    is_first_time_fix,
    labour_minutes,
    as_of_date
from {{ ref('service_field_visits') }}
