{#-
    One row per helpdesk ticket, the service mart analysts start from (Q10, Q14, Q17, Q21,
    Q23, Q24), after Fivetran's zendesk__ticket_metrics: milestones, business-hours reply and
    resolution times against the SLA by priority (macros/service/svc_service_rules.sql),
    steps, hand-offs, departments and people, touch vs elapsed time, engineer time and the
    before/after period of the process change.
-#}
{%- set first_response_targets = svc_sla_first_response_hours() -%}
{%- set resolution_targets = svc_sla_resolution_hours() -%}
with tickets as (
    select * from {{ ref('fct_tickets') }}
),

events as (
    select * from {{ ref('fct_ticket_events') }}
),

products as (
    select * from {{ ref('dim_product') }}
),

clocks as (
    select * from {{ ref('int_service_business_minutes') }}
),

handoffs as (
    -- an event that passed the ticket to another department or another agent
    select
        ticket_id,
        sum(case when is_department_handoff or is_agent_handoff then 1 else 0 end) as handoff_count
    from events
    group by ticket_id
),

as_of as (
    select
        {{ svc_as_of_date() }} as as_of_date,
        {{ svc_as_of_ts() }} as as_of_at,
        {{ svc_process_change_date() }} as process_change_date
),

joined as (
    select
        t.ticket_id,
        t.customer_key as customer_id,
        t.requester_id,
        t.created_at,
        cast(t.created_at as date) as created_date,
        t.priority,
        t.category,
        t.channel_code as channel,
        t.product_id,
        p.category as product_category,
        t.order_id,
        t.ticket_status,
        t.assignee_id,
        t.department_code,
        t.is_open,
        not t.is_open and t.solved_at is not null as is_resolved,
        case when fr.stopped_at is not null then fr.stopped_at end as first_response_at,
        case when not t.is_open then t.solved_at end as resolved_at,
        t.closed_at,
        fr.business_minutes as first_response_business_minutes,
        rs.business_minutes as resolution_business_minutes,
        {{ svc_sla_target_minutes(first_response_targets, 't.priority') }} as sla_first_response_target_minutes,
        {{ svc_sla_target_minutes(resolution_targets, 't.priority') }} as sla_resolution_target_minutes,
        t.event_count as step_count,
        t.reopen_count,
        coalesce(h.handoff_count, 0) as handoff_count,
        t.department_handoff_count,
        t.departments_involved as departments_touched,
        t.agents_involved as people_touched,
        t.touch_minutes,
        case
            when not t.is_open and t.solved_at is not null then {{ core_minutes_between('t.created_at', 't.solved_at') }}
            else {{ core_minutes_between('t.created_at', 'a.as_of_at') }}
        end as elapsed_minutes,
        t.is_field_visit_needed,
        t.field_visit_count,
        t.labour_minutes,
        t.category = 'mis_operation' as is_misoperation,
        t.category in ('mis_operation', 'how_to') as is_self_service_solvable,
        t.satisfaction_score,
        case when cast(t.created_at as date) < a.process_change_date then 'before' else 'after' end as process_period,
        a.process_change_date,
        a.as_of_date
    from tickets as t
    cross join as_of as a
    left join products as p on p.product_key = t.product_key
    left join handoffs as h on h.ticket_id = t.ticket_id
    left join clocks as fr on fr.record_id = t.ticket_id and fr.clock_kind = 'ticket_first_response'
    left join clocks as rs on rs.record_id = t.ticket_id and rs.clock_kind = 'ticket_resolution'
),

final as (
    select
        j.*,
        coalesce(j.first_response_business_minutes > j.sla_first_response_target_minutes, false) as is_first_response_sla_breached,
        coalesce(j.resolution_business_minutes > j.sla_resolution_target_minutes, false) as is_resolution_sla_breached,
        coalesce(
            j.first_response_business_minutes > j.sla_first_response_target_minutes
            or j.resolution_business_minutes > j.sla_resolution_target_minutes,
            false
        ) as is_sla_breached,
        case when j.elapsed_minutes > 0 then j.touch_minutes / j.elapsed_minutes end as touch_share,
        j.touch_minutes + j.labour_minutes as engineer_minutes
    from joined as j
)

select {{ core_contract_select('final') }}
from final
