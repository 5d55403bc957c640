{#-
    Q14: one row per inbound contact that asked for an answer (fct_interactions.is_response_required:
    CRM requests and complaints, call-center callback requests), when it was answered and whether
    within the SLA (var service_sla_inbound_response_hours business hours, default 8). Business
    minutes and the callback rule: int_service_business_minutes.
-#}
with requests as (
    select * from {{ ref('fct_interactions') }}
    where is_response_required and direction = 'inbound'
),

clocks as (
    select * from {{ ref('int_service_business_minutes') }}
    where clock_kind = 'inbound_response'
),

as_of as (
    select {{ svc_as_of_date() }} as as_of_date
),

final as (
    select
        r.interaction_key,
        r.source_system,
        r.interaction_id,
        r.customer_key as customer_id,
        r.channel_code as channel,
        r.interaction_type,
        r.employee_id,
        r.occurred_at,
        cast(r.occurred_at as date) as occurred_date,
        c.stopped_at as answered_at,
        not c.is_running as is_answered,
        c.business_minutes as response_business_minutes,
        {{ svc_sla_inbound_response_minutes() }} as sla_response_target_minutes,
        c.business_minutes > {{ svc_sla_inbound_response_minutes() }} as is_sla_breached,
        c.is_running and c.business_minutes > {{ svc_sla_inbound_response_minutes() }} as is_unanswered_past_sla,
        c.calendar_minutes / 1440.0 as waiting_days,
        a.as_of_date
    from requests as r
    cross join as_of as a
    inner join clocks as c on c.record_id = r.interaction_key
)

select {{ core_contract_select('final') }}
from final
