{{ config(materialized='table') }}
{#-
    Helpdesk ticket events in order per ticket, with the department and agent before
    each event, so a hand-off (department or agent change) is a plain comparison.
    "Before" is the last event that named a department / an agent (nulls skipped
    without IGNORE NULLS, which PostgreSQL lacks).

    A table: core facts, marts and three data tests read it; as a view each redid the window over all events.
-#}
with events as (
    select
        *,
        row_number() over (partition by ticket_id order by occurred_at, event_id) as event_sequence,
        {{ core_code('department') }} as department_code
    from {{ ref('stg_helpdesk__ticket_events') }}
),

department_runs as (
    select
        ticket_id,
        event_sequence,
        lag(department_code) over (partition by ticket_id order by event_sequence) as previous_department_code
    from events
    where department_code is not null
),

agent_runs as (
    select
        ticket_id,
        event_sequence,
        lag(agent_id) over (partition by ticket_id order by event_sequence) as previous_agent_id
    from events
    where agent_id is not null
)

select
    e.*,
    d.previous_department_code,
    a.previous_agent_id,
    coalesce(d.previous_department_code is not null and d.previous_department_code <> e.department_code, false) as is_department_handoff,
    coalesce(e.event_type = 'assignment' and a.previous_agent_id is not null and a.previous_agent_id <> e.agent_id, false) as is_agent_handoff
from events as e
left join department_runs as d on d.ticket_id = e.ticket_id and d.event_sequence = e.event_sequence
left join agent_runs as a on a.ticket_id = e.ticket_id and a.event_sequence = e.event_sequence
