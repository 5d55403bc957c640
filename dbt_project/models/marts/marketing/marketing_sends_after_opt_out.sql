{#-
    Q15: one row per campaign send that went out while the contact's latest consent event for the
    send's channel (effective at or before the send) was an opt-out.
-#}
with sends as (
    select touch_key, touch_id, campaign_id, contact_id, customer_key, department_code, channel_code, touched_at
    from {{ ref('fct_campaign_touches') }}
    where touch_type = 'send' and contact_id is not null
),

consents as (
    select consent_id, contact_id, channel_code, consent_status, consent_source, effective_at, is_opt_out
    from {{ ref('fct_consent_events') }}
),

latest_consent as (
    select
        s.touch_key,
        c.consent_id,
        c.consent_status,
        c.consent_source,
        c.effective_at,
        c.is_opt_out,
        row_number() over (partition by s.touch_key order by c.effective_at desc, c.consent_id desc) as rn
    from sends as s
    inner join consents as c
        on c.contact_id = s.contact_id
        and c.channel_code = s.channel_code
        and c.effective_at <= s.touched_at
),

campaigns as (
    select campaign_id, campaign_name, campaign_type from {{ ref('dim_campaign') }} where campaign_id is not null
),

final as (
    select
        s.touch_key,
        s.touch_id as member_id,
        s.campaign_id,
        c.campaign_name,
        c.campaign_type,
        s.department_code,
        s.channel_code,
        s.contact_id,
        s.customer_key as customer_id,
        s.touched_at as sent_at,
        l.consent_id as opt_out_consent_id,
        l.effective_at as opted_out_at,
        l.consent_source as opt_out_source,
        {{ sm_days_between('l.effective_at', 's.touched_at') }} as days_since_opt_out
    from sends as s
    inner join latest_consent as l on l.touch_key = s.touch_key and l.rn = 1
    left join campaigns as c on c.campaign_id = s.campaign_id
    where l.is_opt_out
)

select {{ core_contract_select('final') }}
from final
