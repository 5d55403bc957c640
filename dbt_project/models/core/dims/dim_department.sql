{#- Departments: every code staff, tickets, ticket events and campaigns use, conformed (trimmed, lower case); unknown member. -#}
with codes as (
    {{ core_referenced_ids([
        ['stg_erp__employees', 'department'],
        ['stg_helpdesk__tickets', 'department'],
        ['stg_helpdesk__ticket_events', 'department'],
        ['stg_crm__campaigns', 'department'],
        ['stg_crm__campaign_members', 'department'],
    ], code=true) }}
),

members as (
    select
        natural_id as department_code,
        case
            when natural_id in ('sales', 'marketing') then 'commercial'
            when natural_id like 'service%' or natural_id in ('field_service', 'engineering') then 'service'
            when natural_id in ('finance') then 'administration'
            else 'other'
        end as department_group,
        false as is_unknown
    from codes

    union all

    select null, 'unknown', true
),

final as (
    select {{ core_key(['department_code']) }} as department_key, *
    from members
)

select {{ core_contract_select('final') }}
from final
