-- Q23: (Mutual Benefit Life) process cycle time per case: elapsed vs touch time, steps, hand-offs, departments and people involved; before/after comparison of a process change.
select
    process_period,
    min(process_change_date) as process_change_date,
    count(*) as tickets,
    avg(step_count) as avg_steps,
    avg(handoff_count) as avg_handoffs,
    avg(departments_touched) as avg_departments,
    avg(people_touched) as avg_people,
    avg(elapsed_minutes) / 1440.0 as avg_elapsed_days,
    avg(touch_minutes) as avg_touch_minutes,
    sum(touch_minutes) / sum(elapsed_minutes) as touch_share,
    avg(case when is_sla_breached then 1.0 else 0.0 end) as sla_breach_rate
from {{ ref('service_tickets') }}
where is_resolved
group by process_period
order by process_period desc
