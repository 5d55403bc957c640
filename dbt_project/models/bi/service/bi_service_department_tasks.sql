{{ config(alias='service_department_tasks') }}
-- marts.service_department_tasks for BI tools: it holds no personal data, column for column.
select
    department_task_id,
    ticket_id,
    stint_number,
    customer_id,
    category,
    priority,
    department_code,
    dispatched_at,
    dispatched_date,
    left_at,
    next_department_code,
    step_count,
    people_count,
    touch_minutes,
    reply_count,
    has_feedback,
    task_status,
    elapsed_minutes
from {{ ref('service_department_tasks') }}
