{#- CRM campaigns with budget and actual cost, inferred members, unknown member. -#}
with campaigns as (
    select * from {{ ref('stg_crm__campaigns') }}
),

referenced as (
    {{ core_referenced_ids([
        ['stg_crm__campaign_members', 'campaign_id'],
        ['stg_crm__event_registrations', 'campaign_id'],
        ['stg_crm__leads', 'campaign_id'],
        ['stg_erp__opportunities', 'campaign_id'],
    ]) }}
),

members as (
    select
        campaign_id, campaign_name, campaign_type, {{ core_code('department') }} as department_code, material_code,
        start_date, end_date, budget, actual_cost, currency, updated_at,
        false as is_inferred, false as is_unknown
    from campaigns

    union all

    select
        r.natural_id, null, null, null, null, null, null, null, null, null, null, true, false
    from referenced as r
    where not exists (select 1 from campaigns as c where c.campaign_id = r.natural_id)

    union all

    select null, 'Unknown', null, null, null, null, null, null, null, null, null, false, true
),

final as (
    select
        {{ core_key(['campaign_id']) }} as campaign_key,
        {{ core_key(['department_code']) }} as department_key,
        *
    from members
)

select {{ core_contract_select('final') }}
from final
