{{ config(alias='rep_commitments') }}
-- marts.rep_commitments for BI tools: personal data and free text commitment_text replaced by salted hashes (macro bi_mask).
select
    commitment_id,
    customer_id,
    employee_id,
    employee_role,
    is_employee_still_employed,
    commitment_kind,
    reference_id,
    committed_at,
    committed_date,
    channel,
    {{ bi_mask('commitment_text') }} as commitment_text_hash,
    list_amount,
    quoted_amount,
    discount_amount,
    max_discount_pct,
    valid_until_date,
    quote_status,
    currency,
    is_open_offer,
    reps_promising
from {{ ref('rep_commitments') }}
