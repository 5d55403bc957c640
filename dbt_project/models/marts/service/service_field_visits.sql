{#-
    Q17: one row per field (technician) visit, with its ticket and customer, whether it is still in
    the backlog (not completed) and whether the technician was on site within the field-visit SLA
    (var service_field_visit_sla_hours calendar hours from the request, default 72). A visit not
    yet on site is judged on the time waited so far (to the end of the as-of day).
-#}
with visits as (
    select * from {{ ref('fct_field_visits') }}
),

tickets as (
    select ticket_id, priority, created_at as ticket_created_at, is_open as is_ticket_open
    from {{ ref('fct_tickets') }}
),

as_of as (
    select {{ svc_as_of_date() }} as as_of_date, {{ svc_as_of_ts() }} as as_of_at
),

numbered as (
    select
        v.*,
        row_number() over (partition by v.ticket_id order by v.requested_at, v.visit_id) as visit_number
    from visits as v
),

final as (
    select
        v.visit_id,
        v.ticket_id,
        v.customer_key as customer_id,
        v.technician_id,
        v.visit_status,
        v.ticket_category,
        t.priority,
        v.product_id,
        v.visit_number,
        v.requested_at,
        cast(v.requested_at as date) as requested_date,
        v.scheduled_at,
        v.arrived_at,
        v.completed_at,
        v.scheduled_at is not null as is_scheduled,
        v.is_completed,
        not v.is_completed as is_backlog,
        coalesce(t.is_ticket_open, true) as is_ticket_open,
        v.hours_to_arrival,
        {{ core_minutes_between('v.requested_at', 'coalesce(v.arrived_at, a.as_of_at)') }} / 60.0 as waiting_hours,
        {{ svc_field_visit_sla_hours() }} as sla_arrival_target_hours,
        {{ core_minutes_between('v.requested_at', 'coalesce(v.arrived_at, a.as_of_at)') }} / 60.0
            > {{ svc_field_visit_sla_hours() }} as is_sla_breached,
        case when v.visit_number = 1 and v.is_completed then coalesce(v.is_first_time_fix, false) end as is_first_time_fix,
        v.labour_minutes,
        a.as_of_date
    from numbered as v
    cross join as_of as a
    left join tickets as t on t.ticket_id = v.ticket_id
)

select {{ core_contract_select('final') }}
from final
