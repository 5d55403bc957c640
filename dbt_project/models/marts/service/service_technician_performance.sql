{#-
    Q21: one row per technician and ticket category: visits, first-time-fix rate (first visits of a
    ticket completed with the fault fixed, out of completed first visits), time to arrival, labour
    on site, and the resolution time in business hours of the tickets the technician went out for.
-#}
with visits as (
    select * from {{ ref('service_field_visits') }}
),

tickets as (
    select ticket_id, resolution_business_minutes, is_resolved, reopen_count
    from {{ ref('service_tickets') }}
),

employees as (
    select employee_id, department_code, is_employed
    from {{ ref('dim_employee') }}
),

per_technician as (
    select
        v.technician_id,
        v.ticket_category,
        count(*) as visit_count,
        sum(case when v.is_completed then 1 else 0 end) as completed_visit_count,
        count(distinct v.ticket_id) as ticket_count,
        sum(case when v.visit_number = 1 and v.is_completed then 1 else 0 end) as first_visit_count,
        sum(case when v.is_first_time_fix then 1 else 0 end) as first_time_fix_count,
        {{ crmwh_exact_avg('v.hours_to_arrival') }} as avg_hours_to_arrival,
        {{ crmwh_exact_avg('v.labour_minutes') }} as avg_labour_minutes,
        sum(case when v.is_sla_breached then 1 else 0 end) as sla_breached_visit_count
    from visits as v
    where v.technician_id is not null
    group by v.technician_id, v.ticket_category
),

resolution as (
    -- each ticket once per technician and category
    select
        d.technician_id,
        d.ticket_category,
        {{ crmwh_exact_avg('case when t.is_resolved then t.resolution_business_minutes end') }} / 60.0 as avg_resolution_business_hours,
        sum(case when t.reopen_count > 0 then 1 else 0 end) as reopened_ticket_count
    from (select distinct technician_id, ticket_category, ticket_id from visits) as d
    inner join tickets as t on t.ticket_id = d.ticket_id
    group by d.technician_id, d.ticket_category
),

final as (
    select
        p.technician_id,
        coalesce(p.ticket_category, 'unknown') as ticket_category,
        e.department_code,
        coalesce(e.is_employed, false) as is_employed,
        p.visit_count,
        p.completed_visit_count,
        p.ticket_count,
        p.first_visit_count,
        p.first_time_fix_count,
        case when p.first_visit_count > 0 then 1.0 * p.first_time_fix_count / p.first_visit_count end as first_time_fix_rate,
        p.avg_hours_to_arrival,
        p.avg_labour_minutes,
        r.avg_resolution_business_hours,
        coalesce(r.reopened_ticket_count, 0) as reopened_ticket_count,
        p.sla_breached_visit_count
    from per_technician as p
    left join resolution as r
        on r.technician_id = p.technician_id
        and coalesce(r.ticket_category, '') = coalesce(p.ticket_category, '')
    left join employees as e on e.employee_id = p.technician_id
)

select {{ core_contract_select('final') }}
from final
