{#-
    Q24 (scorecards for departments; tasks dispatched to departments and their status): one row per
    department with its staff, the ticket tasks dispatched to it (service_department_tasks) and how
    they ended (resolved there, handed off, still open), replies sent, touch and elapsed time, and
    the SLA breaches and satisfaction of the tickets it worked on; plus the campaign touches it sent.
-#}
with tasks as (
    select * from {{ ref('service_department_tasks') }}
),

tickets as (
    select ticket_id, is_sla_breached, satisfaction_score from {{ ref('service_tickets') }}
),

staff as (
    select department_code, count(*) as staff_count, sum(case when is_employed then 1 else 0 end) as employed_staff_count
    from {{ ref('dim_employee') }}
    where not is_unknown and department_code is not null
    group by department_code
),

task_summary as (
    select
        department_code,
        count(*) as tasks_dispatched,
        sum(case when task_status = 'resolved' then 1 else 0 end) as tasks_resolved,
        sum(case when task_status = 'handed_off' then 1 else 0 end) as tasks_handed_off,
        sum(case when task_status = 'open' then 1 else 0 end) as tasks_open,
        sum(case when has_feedback then 1 else 0 end) as tasks_with_feedback,
        {{ crmwh_exact_sum('touch_minutes') }} as touch_minutes,
        {{ crmwh_exact_avg('elapsed_minutes') }} / 60.0 as avg_task_elapsed_hours
    from tasks
    group by department_code
),

ticket_summary as (
    select
        d.department_code,
        count(*) as tickets_worked,
        sum(case when t.is_sla_breached then 1 else 0 end) as sla_breached_tickets,
        avg(cast(t.satisfaction_score as {{ dbt.type_float() }})) as avg_satisfaction_score
    from (select distinct department_code, ticket_id from tasks) as d
    inner join tickets as t on t.ticket_id = d.ticket_id
    group by d.department_code
),

touches as (
    select department_code, count(*) as campaign_touch_count
    from {{ ref('fct_campaign_touches') }}
    where department_code is not null
    group by department_code
),

departments as (
    select department_code from staff
    union
    select department_code from task_summary
    union
    select department_code from touches
),

final as (
    select
        d.department_code,
        coalesce(s.staff_count, 0) as staff_count,
        coalesce(s.employed_staff_count, 0) as employed_staff_count,
        coalesce(k.tasks_dispatched, 0) as tasks_dispatched,
        coalesce(k.tasks_resolved, 0) as tasks_resolved,
        coalesce(k.tasks_handed_off, 0) as tasks_handed_off,
        coalesce(k.tasks_open, 0) as tasks_open,
        coalesce(k.tasks_with_feedback, 0) as tasks_with_feedback,
        coalesce(k.touch_minutes, 0) as touch_minutes,
        k.avg_task_elapsed_hours,
        coalesce(t.tickets_worked, 0) as tickets_worked,
        coalesce(t.sla_breached_tickets, 0) as sla_breached_tickets,
        case when t.tickets_worked > 0 then 1.0 * t.sla_breached_tickets / t.tickets_worked end as sla_breach_rate,
        t.avg_satisfaction_score,
        coalesce(c.campaign_touch_count, 0) as campaign_touch_count
    from departments as d
    left join staff as s on s.department_code = d.department_code
    left join task_summary as k on k.department_code = d.department_code
    left join ticket_summary as t on t.department_code = d.department_code
    left join touches as c on c.department_code = d.department_code
)

select {{ core_contract_select('final') }}
from final
