-- Q18: The rep who handled this account resigned; the customer arrives in 30 minutes: the account's whole history, across people and channels.
-- (here: the customer with the longest history; put the customer's id in the where clause)
select
    event_sequence,
    event_at,
    event_kind,
    event_type,
    event_status,
    reference_id,
    employee_id,
    employee_role,
    is_employee_still_employed,
    channel,
    direction,
    amount,
    detail
from {{ ref('account_timeline') }}
where customer_id = (
    select customer_id from {{ ref('account_timeline') }}
    group by customer_id
    order by count(distinct event_kind) desc, count(*) desc, customer_id
    limit 1
)
order by event_sequence
