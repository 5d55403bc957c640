{{ config(unique_key='touch_key') }}
{#-
    One row per campaign touch: a send/membership (`stg_crm__campaign_members`, with
    department, channel and response) or an event registration (with confirmation
    and attendance). The customer is the contact, else the lead.
-#}
with members as (
    select * from {{ ref('stg_crm__campaign_members') }}
    {{ core_incremental_filter('member_id', [['stg_crm__campaign_members', 'member_id']], rekey_column='touch_id') }}
),

registrations as (
    select * from {{ ref('stg_crm__event_registrations') }}
    {{ core_incremental_filter('registration_id', [['stg_crm__event_registrations', 'registration_id']], rekey_column='touch_id') }}
),

unioned as (
    select
        'send' as touch_type,
        member_id as touch_id,
        campaign_id,
        contact_id,
        lead_id,
        {{ core_code('department') }} as department_code,
        {{ core_code('channel') }} as channel_code,
        status as touch_status,
        sent_at as touched_at,
        responded_at,
        cast(null as {{ dbt.type_timestamp() }}) as confirmation_sent_at,
        cast(null as {{ dbt.type_boolean() }}) as is_attended,
        coalesce(responded_at is not null or status in ('responded', 'clicked'), false) as is_responded,
        case when contact_id is not null then 'crm' when lead_id is not null then 'crm' end as customer_source_system,
        case when contact_id is not null then 'contacts' when lead_id is not null then 'leads' end as customer_source_entity,
        coalesce(contact_id, lead_id) as customer_source_id,
        _night as source_night
    from members

    union all

    select
        'registration',
        registration_id,
        campaign_id,
        contact_id,
        null,
        null,
        null,
        'registered',
        registered_at,
        null,
        confirmation_sent_at,
        is_attended,
        true,
        'crm',
        case when contact_id is not null then 'contacts' else 'event_registrations' end,
        coalesce(contact_id, registration_id),
        _night
    from registrations
),

final as (
    select
        u.*,
        {{ core_key(['u.touch_type', 'u.touch_id']) }} as touch_key,
        {{ core_key(['u.campaign_id']) }} as campaign_key,
        {{ core_key(['u.department_code']) }} as department_key,
        {{ core_key(['u.channel_code']) }} as channel_key,
        {{ core_date_key('u.touched_at') }} as touched_date_key,
        {{ core_customer_key() }} as customer_key
    from unioned as u
    {{ core_customer_join('u') }}
)

select {{ core_contract_select('final') }}
from final
