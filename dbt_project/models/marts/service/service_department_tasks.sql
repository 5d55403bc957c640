{#-
    Q24 (tasks dispatched to departments, their feedback and resolution status) and Q23 (where a
    case waits): one row per ticket and stint in a department, a stint being the run of events
    from the ticket reaching a department until it moves to another one. status: handed_off (moved
    on), resolved (the ticket was solved while there and is not open), open (still there).
-#}
with events as (
    select * from {{ ref('fct_ticket_events') }}
),

tickets as (
    select ticket_id, customer_id, category, priority, is_open, resolved_at
    from {{ ref('service_tickets') }}
),

as_of as (
    select {{ svc_as_of_ts() }} as as_of_at
),

numbered as (
    select
        e.*,
        1 + sum(case when e.is_department_handoff then 1 else 0 end) over (
            partition by e.ticket_id order by e.event_sequence rows between unbounded preceding and current row
        ) as stint_number
    from events as e
),

stints as (
    select
        ticket_id,
        stint_number,
        max(department_code) as department_code,
        min(occurred_at) as dispatched_at,
        count(*) as step_count,
        count(distinct agent_id) as people_count,
        {{ crmwh_exact_sum('coalesce(touch_minutes, 0)') }} as touch_minutes,
        sum(case when event_type = 'public_reply' then 1 else 0 end) as reply_count,
        max(case when to_status = 'solved' then 1 else 0 end) as has_solve
    from numbered
    group by ticket_id, stint_number
),

sequenced as (
    select
        s.*,
        lead(s.dispatched_at) over (partition by s.ticket_id order by s.stint_number) as left_at,
        lead(s.department_code) over (partition by s.ticket_id order by s.stint_number) as next_department_code
    from stints as s
),

final as (
    select
        {{ dbt.concat(["s.ticket_id", "'|'", dbt.safe_cast("s.stint_number", dbt.type_string())]) }} as department_task_id,
        s.ticket_id,
        s.stint_number,
        t.customer_id,
        t.category,
        t.priority,
        coalesce(s.department_code, 'unknown') as department_code,
        s.dispatched_at,
        cast(s.dispatched_at as date) as dispatched_date,
        s.left_at,
        s.next_department_code,
        s.step_count,
        s.people_count,
        s.touch_minutes,
        s.reply_count,
        s.reply_count > 0 as has_feedback,
        case
            when s.left_at is not null then 'handed_off'
            when not t.is_open then 'resolved'
            else 'open'
        end as task_status,
        {{ core_minutes_between('s.dispatched_at', 'coalesce(s.left_at, t.resolved_at, a.as_of_at)') }} as elapsed_minutes
    from sequenced as s
    cross join as_of as a
    inner join tickets as t on t.ticket_id = s.ticket_id
)

select {{ core_contract_select('final') }}
from final
