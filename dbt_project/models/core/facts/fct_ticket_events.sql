{{ config(unique_key='event_id') }}
{#-
    One row per helpdesk ticket event (created, status change, assignment, reply,
    note, reopen) with the department after it and hand-off flags (Q23 steps,
    hand-offs and departments). All events of a ticket are recomputed when any of
    them or the ticket arrives, so late events re-sequence.
-#}
with events as (
    select * from {{ ref('int_ticket_events_sequenced') }}
    {{ core_incremental_filter('ticket_id', [['stg_helpdesk__ticket_events', 'ticket_id'], ['stg_helpdesk__tickets', 'ticket_id']]) }}
),

tickets as (
    select * from {{ ref('stg_helpdesk__tickets') }}
),

prepared as (
    select
        e.event_id,
        e.ticket_id,
        e.event_sequence,
        e.event_type,
        e.from_status,
        e.to_status,
        e.department_code,
        e.previous_department_code,
        e.agent_id,
        e.touch_minutes,
        e.occurred_at,
        e.is_department_handoff,
        e.is_agent_handoff,
        t.requester_id,
        case when t.requester_id is not null then 'helpdesk' end as customer_source_system,
        case when t.requester_id is not null then 'requesters' end as customer_source_entity,
        t.requester_id as customer_source_id,
        case when t._night > e._night then t._night else e._night end as source_night
    from events as e
    left join tickets as t on t.ticket_id = e.ticket_id
),

final as (
    select
        p.*,
        {{ core_key(['p.ticket_id']) }} as ticket_key,
        {{ core_key(['p.department_code']) }} as department_key,
        {{ core_key(['p.agent_id']) }} as agent_employee_key,
        {{ core_date_key('p.occurred_at') }} as occurred_date_key,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
