{{ config(alias='service_technician_performance') }}
-- marts.service_technician_performance for BI tools: it holds no personal data, column for column.
select
    technician_id,
    ticket_category,
    department_code,
    is_employed,
    visit_count,
    completed_visit_count,
    ticket_count,
    first_visit_count,
    first_time_fix_count,
    first_time_fix_rate,
    avg_hours_to_arrival,
    avg_labour_minutes,
    avg_resolution_business_hours,
    reopened_ticket_count,
    sla_breached_visit_count
from {{ ref('service_technician_performance') }}
