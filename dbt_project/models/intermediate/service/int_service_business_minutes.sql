{{ config(materialized='table') }}
{#-
    Business minutes of every SLA clock of the service marts (issue 5, Q14/Q23/Q24): per
    ticket the first-response and resolution clocks, per inbound contact that asks for an
    answer the response clock (call-center callbacks: answered by the next outbound contact). A clock still running stops at the end of the as-of day.
    Business time = the overlap of [started_at, ended_at) with the open hours of each
    business day (macro svc_business_hours: Mon-Fri 09:00-17:00 UTC, minus var service_holidays).
    A join with the day spine (core.dim_date), so only portable SQL.

    A table: two marts and five data tests read it; as a view each redid the clocks (~12 s each at scale l).
-#}
{%- set hours = svc_business_hours() -%}
{%- set holidays = svc_holidays() -%}
with tickets as (
    -- a reopened ticket that is open again has no resolution yet (fct_tickets.solved_at keeps the last solve)
    select
        ticket_id,
        created_at,
        first_response_at,
        case when is_open then null else solved_at end as resolved_at
    from {{ ref('fct_tickets') }}
),

interactions as (
    select * from {{ ref('fct_interactions') }}
),

requests as (
    select * from interactions
    where is_response_required and direction = 'inbound'
),

callbacks as (
    -- call-center records carry no answer time: the first later outbound contact with the same
    -- resolved customer, on any channel, is the answer
    select
        r.interaction_key,
        min(o.occurred_at) as called_back_at
    from requests as r
    inner join interactions as o
        on o.customer_key = r.customer_key
        and o.direction = 'outbound'
        and o.occurred_at > r.occurred_at
    where r.source_system = 'callcenter'
        and r.customer_key <> {{ core_unknown_key() }}
    group by r.interaction_key
),

as_of as (
    select {{ svc_as_of_ts() }} as as_of_at
),

clocks as (
    select
        'ticket_first_response' as clock_kind,
        t.ticket_id as record_id,
        t.created_at as started_at,
        case
            when t.first_response_at is null then t.resolved_at
            when t.resolved_at is null then t.first_response_at
            when t.resolved_at < t.first_response_at then t.resolved_at
            else t.first_response_at
        end as stopped_at
    from tickets as t
    union all
    select 'ticket_resolution', t.ticket_id, t.created_at, t.resolved_at
    from tickets as t
    union all
    select 'inbound_response', r.interaction_key, r.occurred_at, coalesce(r.responded_at, cb.called_back_at)
    from requests as r
    left join callbacks as cb on cb.interaction_key = r.interaction_key
),

bounded as (
    select
        c.clock_kind,
        c.record_id,
        c.started_at,
        c.stopped_at,
        c.stopped_at is null as is_running,
        case when c.stopped_at is null or c.stopped_at > a.as_of_at then a.as_of_at else c.stopped_at end as ended_at
    from clocks as c
    cross join as_of as a
    where c.started_at is not null
),

business_days as (
    select
        date_day,
        {{ dbt.dateadd('minute', (hours['start_hour'] | int) * 60, 'cast(date_day as timestamp)') }} as opens_at,
        {{ dbt.dateadd('minute', (hours['end_hour'] | int) * 60, 'cast(date_day as timestamp)') }} as closes_at
    from {{ ref('dim_date') }}
    where not coalesce(is_weekend, false)
        and not coalesce(is_unknown, false)
        {%- if holidays | length > 0 %}
        and date_day not in ({% for day in holidays %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor %})
        {%- endif %}
),

day_overlaps as (
    select
        b.clock_kind,
        b.record_id,
        case when b.started_at > d.opens_at then b.started_at else d.opens_at end as overlap_from,
        case when b.ended_at < d.closes_at then b.ended_at else d.closes_at end as overlap_to
    from bounded as b
    inner join business_days as d
        on d.date_day >= cast(b.started_at as date)
        and d.date_day <= cast(b.ended_at as date)
),

summed as (
    select
        clock_kind,
        record_id,
        {{ crmwh_exact_sum("case when overlap_to > overlap_from then "
                           ~ core_minutes_between('overlap_from', 'overlap_to') ~ " else 0 end") }} as business_minutes
    from day_overlaps
    group by clock_kind, record_id
)

select
    b.clock_kind,
    b.record_id,
    b.started_at,
    b.stopped_at,
    b.ended_at,
    b.is_running,
    coalesce(s.business_minutes, 0) as business_minutes,
    {{ core_minutes_between('b.started_at', 'b.ended_at') }} as calendar_minutes
from bounded as b
left join summed as s
    on s.clock_kind = b.clock_kind
    and s.record_id = b.record_id
