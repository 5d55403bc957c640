{#-
    Q24 (scorecards for staff) and Q20/Q21 background: one row per employee with service work
    (tickets touched, touch time, tickets currently held and resolved, SLA breaches and satisfaction
    of the tickets they hold), contact work (interactions, inbound requests answered within SLA),
    sales (quotes, acceptance, orders, revenue) and field work (visits, first-time-fix rate).
-#}
with employees as (
    select * from {{ ref('dim_employee') }} where not is_unknown
),

touched as (
    select agent_id as employee_id, count(distinct ticket_id) as tickets_touched, {{ crmwh_exact_sum('coalesce(touch_minutes, 0)') }} as ticket_touch_minutes
    from {{ ref('fct_ticket_events') }}
    where agent_id is not null
    group by agent_id
),

held as (
    select
        assignee_id as employee_id,
        count(*) as tickets_assigned,
        sum(case when is_open then 1 else 0 end) as open_tickets_assigned,
        sum(case when is_resolved then 1 else 0 end) as tickets_resolved,
        sum(case when is_sla_breached then 1 else 0 end) as sla_breached_tickets,
        avg(cast(satisfaction_score as {{ dbt.type_float() }})) as avg_satisfaction_score
    from {{ ref('service_tickets') }}
    where assignee_id is not null
    group by assignee_id
),

contacts as (
    select employee_id, count(*) as interaction_count, sum(case when direction = 'outbound' then 1 else 0 end) as outbound_contact_count
    from {{ ref('fct_interactions') }}
    where employee_id is not null
    group by employee_id
),

requests as (
    select
        employee_id,
        count(*) as inbound_requests,
        sum(case when is_answered and not is_sla_breached then 1 else 0 end) as inbound_requests_answered_in_sla
    from {{ ref('service_inbound_requests') }}
    where employee_id is not null
    group by employee_id
),

quotes as (
    select employee_id, count(*) as quote_count, sum(case when is_accepted then 1 else 0 end) as accepted_quote_count
    from {{ ref('fct_quotes') }}
    where employee_id is not null
    group by employee_id
),

orders as (
    select employee_id, count(*) as order_count, sum(revenue) as order_revenue
    from {{ ref('fct_orders') }}
    where employee_id is not null and not is_cancelled
    group by employee_id
),

visits as (
    select
        technician_id as employee_id,
        count(*) as visit_count,
        sum(case when visit_number = 1 and is_completed then 1 else 0 end) as first_visit_count,
        sum(case when is_first_time_fix then 1 else 0 end) as first_time_fix_count
    from {{ ref('service_field_visits') }}
    where technician_id is not null
    group by technician_id
),

final as (
    select
        e.employee_id,
        e.full_name,
        e.role,
        e.employee_type,
        e.department_code,
        e.is_employed,
        coalesce(tc.tickets_touched, 0) as tickets_touched,
        coalesce(tc.ticket_touch_minutes, 0) as ticket_touch_minutes,
        coalesce(h.tickets_assigned, 0) as tickets_assigned,
        coalesce(h.open_tickets_assigned, 0) as open_tickets_assigned,
        coalesce(h.tickets_resolved, 0) as tickets_resolved,
        coalesce(h.sla_breached_tickets, 0) as sla_breached_tickets,
        case when h.tickets_assigned > 0 then 1.0 * h.sla_breached_tickets / h.tickets_assigned end as sla_breach_rate,
        h.avg_satisfaction_score,
        coalesce(c.interaction_count, 0) as interaction_count,
        coalesce(c.outbound_contact_count, 0) as outbound_contact_count,
        coalesce(r.inbound_requests, 0) as inbound_requests,
        coalesce(r.inbound_requests_answered_in_sla, 0) as inbound_requests_answered_in_sla,
        coalesce(q.quote_count, 0) as quote_count,
        coalesce(q.accepted_quote_count, 0) as accepted_quote_count,
        case when q.quote_count > 0 then 1.0 * q.accepted_quote_count / q.quote_count end as quote_acceptance_rate,
        coalesce(o.order_count, 0) as order_count,
        coalesce(o.order_revenue, 0) as order_revenue,
        coalesce(v.visit_count, 0) as visit_count,
        case when v.first_visit_count > 0 then 1.0 * v.first_time_fix_count / v.first_visit_count end as first_time_fix_rate
    from employees as e
    left join touched as tc on tc.employee_id = e.employee_id
    left join held as h on h.employee_id = e.employee_id
    left join contacts as c on c.employee_id = e.employee_id
    left join requests as r on r.employee_id = e.employee_id
    left join quotes as q on q.employee_id = e.employee_id
    left join orders as o on o.employee_id = e.employee_id
    left join visits as v on v.employee_id = e.employee_id
)

select {{ core_contract_select('final') }}
from final
