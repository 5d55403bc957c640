-- Q19: Three reps talked to this customer: what did each promise?
-- (here: the customers with the most reps promising; filter on customer_id for one customer)
select
    customer_id,
    employee_id,
    employee_role,
    is_employee_still_employed,
    commitment_kind,
    committed_at,
    commitment_text,
    quoted_amount,
    max_discount_pct,
    valid_until_date,
    quote_status,
    is_open_offer
from {{ ref('rep_commitments') }}
where reps_promising >= 2
order by reps_promising desc, customer_id, employee_id, committed_at
