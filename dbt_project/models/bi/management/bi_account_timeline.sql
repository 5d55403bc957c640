{{ config(alias='account_timeline') }}
-- marts.account_timeline for BI tools: personal data and free text detail replaced by salted hashes (macro bi_mask).
select
    timeline_event_id,
    customer_id,
    event_sequence,
    event_at,
    event_date,
    event_kind,
    event_type,
    event_status,
    reference_id,
    employee_id,
    employee_role,
    department_code,
    is_employee_still_employed,
    channel,
    direction,
    amount,
    currency,
    {{ bi_mask('detail') }} as detail_hash
from {{ ref('account_timeline') }}
