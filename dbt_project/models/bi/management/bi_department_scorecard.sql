{{ config(alias='department_scorecard') }}
-- marts.department_scorecard for BI tools: it holds no personal data, column for column.
select
    department_code,
    staff_count,
    employed_staff_count,
    tasks_dispatched,
    tasks_resolved,
    tasks_handed_off,
    tasks_open,
    tasks_with_feedback,
    touch_minutes,
    avg_task_elapsed_hours,
    tickets_worked,
    sla_breached_tickets,
    sla_breach_rate,
    avg_satisfaction_score,
    campaign_touch_count
from {{ ref('department_scorecard') }}
