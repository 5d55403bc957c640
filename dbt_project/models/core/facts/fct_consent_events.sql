{{ config(unique_key='consent_id') }}
{#- One row per consent or opt-out event per contact and channel (the CRM's append-only log). -#}
with consents as (
    select * from {{ ref('stg_crm__consents') }}
    {{ core_incremental_filter('consent_id', [['stg_crm__consents', 'consent_id']]) }}
),

prepared as (
    select
        consent_id,
        contact_id,
        {{ core_code('channel') }} as channel_code,
        status as consent_status,
        source as consent_source,
        effective_at,
        status = 'opt_out' as is_opt_out,
        'crm' as customer_source_system,
        'contacts' as customer_source_entity,
        contact_id as customer_source_id,
        _night as source_night
    from consents
),

final as (
    select
        p.*,
        {{ core_key(['p.channel_code']) }} as channel_key,
        {{ core_date_key('p.effective_at') }} as effective_date_key,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
