{#-
    Q16: one row per seminar / webinar registration: was a confirmation sent, how fast, and did the
    person attend. Unconfirmed = no confirmation at all, or one later than var
    marketing_confirmation_sla_hours (default 24) after the registration.
-#}
with registrations as (
    select touch_key, touch_id, campaign_id, contact_id, customer_key, touched_at, confirmation_sent_at, is_attended
    from {{ ref('fct_campaign_touches') }}
    where touch_type = 'registration'
),

campaigns as (
    select campaign_id, campaign_name, campaign_type, start_date, end_date
    from {{ ref('dim_campaign') }}
    where campaign_id is not null
),

final as (
    select
        r.touch_key,
        r.touch_id as registration_id,
        r.campaign_id,
        c.campaign_name,
        c.campaign_type,
        c.start_date as event_start_date,
        c.end_date as event_end_date,
        r.contact_id,
        r.customer_key as customer_id,
        r.touched_at as registered_at,
        r.confirmation_sent_at,
        r.confirmation_sent_at is not null as is_confirmation_sent,
        {{ sm_days_between('r.touched_at', 'r.confirmation_sent_at') }} * 24.0 as hours_to_confirmation,
        r.confirmation_sent_at is null
            or {{ sm_days_between('r.touched_at', 'r.confirmation_sent_at') }} * 24.0
            > {{ var('marketing_confirmation_sla_hours', 24) }} as is_unconfirmed,
        {{ var('marketing_confirmation_sla_hours', 24) }} as confirmation_sla_hours,
        r.is_attended,
        c.start_date <= {{ cv_as_of_date() }} as has_event_started
    from registrations as r
    left join campaigns as c on c.campaign_id = r.campaign_id
)

select {{ core_contract_select('final') }}
from final
