{{ config(unique_key='lead_id') }}
{#- One row per lead: source, campaign, owner and, once converted, the contact, account, opportunity and days to convert. -#}
with leads as (
    select * from {{ ref('stg_crm__leads') }}
    {{ core_incremental_filter('lead_id', [['stg_crm__leads', 'lead_id']]) }}
),

prepared as (
    select
        lead_id,
        lead_source,
        campaign_id,
        owner_employee_id,
        status as lead_status,
        company,
        created_at,
        converted_at,
        converted_contact_id,
        converted_account_id,
        converted_opportunity_id,
        coalesce(status = 'converted' or converted_at is not null, false) as is_converted,
        {{ core_minutes_between('created_at', 'converted_at') }} / 1440.0 as days_to_convert,
        'crm' as customer_source_system,
        case when converted_contact_id is not null then 'contacts' else 'leads' end as customer_source_entity,
        coalesce(converted_contact_id, lead_id) as customer_source_id,
        _night as source_night
    from leads
),

final as (
    select
        p.*,
        {{ core_key(['p.campaign_id']) }} as campaign_key,
        {{ core_key(['p.owner_employee_id']) }} as owner_employee_key,
        {{ core_key(['p.converted_account_id']) }} as converted_account_key,
        {{ core_date_key('p.created_at') }} as created_date_key,
        {{ core_date_key('p.converted_at') }} as converted_date_key,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
