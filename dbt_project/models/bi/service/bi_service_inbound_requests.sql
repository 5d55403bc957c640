{{ config(alias='service_inbound_requests') }}
-- marts.service_inbound_requests for BI tools: it holds no personal data, column for column.
select
    interaction_key,
    source_system,
    interaction_id,
    customer_id,
    channel,
    interaction_type,
    employee_id,
    occurred_at,
    occurred_date,
    answered_at,
    is_answered,
    response_business_minutes,
    sla_response_target_minutes,
    is_sla_breached,
    is_unanswered_past_sla,
    waiting_days,
    as_of_date
from {{ ref('service_inbound_requests') }}
