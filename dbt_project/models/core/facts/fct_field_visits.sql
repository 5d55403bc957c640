{{ config(unique_key='visit_id') }}
{#- One row per technician visit on site, with its ticket's customer and product, time to arrival and first-time fix (Q17, Q21). -#}
with visits as (
    select * from {{ ref('stg_helpdesk__field_visits') }}
    {{ core_incremental_filter('ticket_id', [['stg_helpdesk__field_visits', 'ticket_id'], ['stg_helpdesk__tickets', 'ticket_id']]) }}
),

tickets as (
    select * from {{ ref('stg_helpdesk__tickets') }}
),

prepared as (
    select
        v.visit_id,
        v.ticket_id,
        v.technician_id,
        v.status as visit_status,
        t.category as ticket_category,
        t.product_id,
        v.requested_at,
        v.scheduled_at,
        v.arrived_at,
        v.completed_at,
        v.is_first_time_fix,
        v.labour_minutes,
        {{ core_minutes_between('v.requested_at', 'v.arrived_at') }} / 60.0 as hours_to_arrival,
        v.status = 'completed' as is_completed,
        case when t.requester_id is not null then 'helpdesk' end as customer_source_system,
        case when t.requester_id is not null then 'requesters' end as customer_source_entity,
        t.requester_id as customer_source_id,
        case when t._night > v._night then t._night else v._night end as source_night
    from visits as v
    left join tickets as t on t.ticket_id = v.ticket_id
),

final as (
    select
        p.*,
        {{ core_key(['p.ticket_id']) }} as ticket_key,
        {{ core_key(['p.technician_id']) }} as technician_employee_key,
        {{ core_key(['p.product_id']) }} as product_key,
        {{ core_date_key('p.requested_at') }} as requested_date_key,
        {{ core_date_key('p.completed_at') }} as completed_date_key,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
