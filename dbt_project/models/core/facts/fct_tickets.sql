{{ config(unique_key='ticket_id') }}
{#-
    Accumulating snapshot, one row per helpdesk ticket: milestones (created, first
    assignment, first response, solved, closed, last reopened), counts (events,
    reopens, hand-offs, departments and agents involved, field visits), touch time vs
    elapsed time (Q23) and the latest satisfaction score. Recomputed whenever the
    ticket, one of its events, visits or ratings arrives or changes.
-#}
{%- set sources = [
    ['stg_helpdesk__tickets', 'ticket_id'],
    ['stg_helpdesk__ticket_events', 'ticket_id'],
    ['stg_helpdesk__field_visits', 'ticket_id'],
    ['stg_helpdesk__satisfaction_ratings', 'ticket_id'],
] %}
with tickets as (
    select * from {{ ref('stg_helpdesk__tickets') }}
    {{ core_incremental_filter('ticket_id', sources) }}
),

events as (
    select
        ticket_id,
        count(*) as event_count,
        min(case when event_type = 'assignment' then occurred_at end) as first_assigned_at,
        min(case when event_type = 'public_reply' then occurred_at end) as first_response_at,
        min(case when to_status = 'solved' then occurred_at end) as first_solved_at,
        max(case when to_status = 'solved' then occurred_at end) as last_solved_at,
        max(case when to_status = 'closed' then occurred_at end) as closed_at,
        max(case when event_type = 'reopen' then occurred_at end) as last_reopened_at,
        sum(case when event_type = 'reopen' then 1 else 0 end) as reopen_count,
        sum(case when is_department_handoff then 1 else 0 end) as department_handoff_count,
        sum(case when is_agent_handoff then 1 else 0 end) as agent_handoff_count,
        count(distinct department_code) as departments_involved,
        count(distinct agent_id) as agents_involved,
        sum(coalesce(touch_minutes, 0)) as touch_minutes,
        max(_night) as event_night
    from {{ ref('int_ticket_events_sequenced') }}
    where ticket_id in (select ticket_id from tickets)
    group by ticket_id
),

visits as (
    select
        ticket_id,
        count(*) as field_visit_count,
        sum(case when status = 'completed' then 1 else 0 end) as completed_visit_count,
        sum(coalesce(labour_minutes, 0)) as labour_minutes,
        max(_night) as visit_night
    from {{ ref('stg_helpdesk__field_visits') }}
    where ticket_id in (select ticket_id from tickets)
    group by ticket_id
),

ratings as (
    select ticket_id, score, _night
    from (
        select
            ticket_id, score, _night,
            row_number() over (partition by ticket_id order by rated_at desc, rating_id desc) as recency
        from {{ ref('stg_helpdesk__satisfaction_ratings') }}
        where ticket_id in (select ticket_id from tickets)
    ) as ranked
    where recency = 1
),

rating_nights as (
    select ticket_id, max(_night) as rating_night
    from {{ ref('stg_helpdesk__satisfaction_ratings') }}
    where ticket_id in (select ticket_id from tickets)
    group by ticket_id
),

prepared as (
    select
        t.ticket_id,
        t.requester_id,
        t.product_id,
        t.order_id,
        t.category,
        t.priority,
        {{ core_code('t.channel') }} as channel_code,
        t.status as ticket_status,
        t.assignee_id,
        {{ core_code('t.department') }} as department_code,
        coalesce(t.is_field_visit_needed, false) as is_field_visit_needed,
        t.created_at,
        e.first_assigned_at,
        e.first_response_at,
        coalesce(t.solved_at, e.last_solved_at) as solved_at,
        e.closed_at,
        e.last_reopened_at,
        coalesce(e.event_count, 0) as event_count,
        coalesce(e.reopen_count, 0) as reopen_count,
        coalesce(e.department_handoff_count, 0) as department_handoff_count,
        coalesce(e.agent_handoff_count, 0) as agent_handoff_count,
        coalesce(e.departments_involved, 0) as departments_involved,
        coalesce(e.agents_involved, 0) as agents_involved,
        coalesce(e.touch_minutes, 0) as touch_minutes,
        coalesce(v.field_visit_count, 0) as field_visit_count,
        coalesce(v.completed_visit_count, 0) as completed_visit_count,
        coalesce(v.labour_minutes, 0) as labour_minutes,
        r.score as satisfaction_score,
        t.status not in ('solved', 'closed') as is_open,
        'helpdesk' as customer_source_system,
        'requesters' as customer_source_entity,
        t.requester_id as customer_source_id,
        t._night as ticket_night,
        e.event_night,
        v.visit_night,
        n.rating_night
    from tickets as t
    left join events as e on e.ticket_id = t.ticket_id
    left join visits as v on v.ticket_id = t.ticket_id
    left join ratings as r on r.ticket_id = t.ticket_id
    left join rating_nights as n on n.ticket_id = t.ticket_id
),

final as (
    select
        p.*,
        {{ core_minutes_between('p.created_at', 'p.first_response_at') }} as minutes_to_first_response,
        {{ core_minutes_between('p.created_at', 'p.solved_at') }} as minutes_to_solve,
        {{ core_minutes_between('p.created_at', 'coalesce(p.closed_at, p.solved_at)') }} as elapsed_minutes,
        {{ core_key(['p.ticket_id']) }} as ticket_key,
        {{ core_key(['p.product_id']) }} as product_key,
        {{ core_key(['p.channel_code']) }} as channel_key,
        {{ core_key(['p.assignee_id']) }} as assignee_employee_key,
        {{ core_key(['p.department_code']) }} as department_key,
        {{ core_key(["'erp'", 'p.order_id']) }} as order_key,
        {{ core_date_key('p.created_at') }} as created_date_key,
        {{ core_date_key('p.solved_at') }} as solved_date_key,
        {{ core_date_key('p.closed_at') }} as closed_date_key,
        greatest(p.ticket_night, coalesce(p.event_night, p.ticket_night), coalesce(p.visit_night, p.ticket_night),
                 coalesce(p.rating_night, p.ticket_night)) as source_night,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
