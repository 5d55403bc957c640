{{ config(unique_key='interaction_key') }}
{#-
    One row per touchpoint on every channel: CRM interactions (phone, e-mail, web,
    fax, letter, SMS, visits, ...) and call-center calls (channel `call_center`).
    A CRM interaction names its contact (else its account) as the customer; a call
    names the call itself (the identity bridge may resolve it by caller phone).
-#}
with crm as (
    select * from {{ ref('stg_crm__interactions') }}
    {{ core_incremental_filter('interaction_id', [['stg_crm__interactions', 'interaction_id']]) }}
),

calls as (
    select * from {{ ref('stg_callcenter__calls') }}
    {{ core_incremental_filter('call_id', [['stg_callcenter__calls', 'call_id']], rekey_column='interaction_id') }}
),

unioned as (
    select
        'crm' as source_system,
        interaction_id,
        {{ core_code('channel') }} as channel_code,
        direction,
        interaction_type,
        cast(null as {{ dbt.type_string() }}) as outcome,
        cast(null as {{ dbt.type_string() }}) as queue,
        employee_id,
        contact_id,
        account_id,
        cast(null as {{ dbt.type_string() }}) as ticket_id,
        commitment,
        coalesce(is_response_required, false) as is_response_required,
        responded_at,
        duration_seconds,
        occurred_at,
        case when contact_id is not null then 'crm' when account_id is not null then 'crm' end as customer_source_system,
        case when contact_id is not null then 'contacts' when account_id is not null then 'accounts' end as customer_source_entity,
        coalesce(contact_id, account_id) as customer_source_id,
        _night as source_night
    from crm

    union all

    select
        'callcenter',
        call_id,
        'call_center',
        direction,
        'call',
        outcome,
        queue,
        agent_id,
        null,
        null,
        ticket_id,
        null,
        coalesce(outcome = 'callback_requested', false),
        null,
        duration_seconds,
        started_at,
        'callcenter',
        'calls',
        call_id,
        _night
    from calls
),

final as (
    select
        u.*,
        {{ core_key(['u.source_system', 'u.interaction_id']) }} as interaction_key,
        {{ core_key(['u.channel_code']) }} as channel_key,
        {{ core_key(['u.employee_id']) }} as employee_key,
        {{ core_key(['u.account_id']) }} as account_key,
        {{ core_date_key('u.occurred_at') }} as occurred_date_key,
        {{ core_minutes_between('u.occurred_at', 'u.responded_at') }} as response_minutes,
        {{ core_customer_key() }} as customer_key
    from unioned as u
    {{ core_customer_join('u') }}
)

select {{ core_contract_select('final') }}
from final
