-- Q24: (Chery Automobile, service center) contacts by channel; tasks dispatched to departments and their feedback and resolution status; scorecards for staff and departments.
-- Contacts by channel (every inbound interaction and ticket in the account timeline), then the department scorecard.
select
    'contacts_by_channel' as report,
    coalesce(channel, 'unknown') as item,
    count(*) as value_1,
    sum(case when event_kind = 'ticket_event' then 1 else 0 end) as value_2,
    cast(null as {{ dbt.type_float() }}) as rate
from {{ ref('account_timeline') }}
where direction = 'inbound' and event_kind in ('interaction', 'ticket_event')
group by coalesce(channel, 'unknown')
union all
select
    'department_tasks',
    department_code,
    tasks_dispatched,
    tasks_resolved,
    sla_breach_rate
from {{ ref('department_scorecard') }}
where tasks_dispatched > 0
union all
select
    'staff_tickets_resolved',
    employee_id,
    tickets_assigned,
    tickets_resolved,
    sla_breach_rate
from {{ ref('staff_scorecard') }}
where tickets_assigned > 0
order by report, item
