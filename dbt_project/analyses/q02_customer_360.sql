-- Q2: On the road: everything about this customer and the products they have (customer 360).
-- Pick the customer by id (here: the customer with the most orders, so the query always returns a row).
select
    customer_id,
    customer_type,
    city,
    country,
    owner_employee_id,
    order_count,
    last_order_date,
    revenue_to_date,
    lifetime_value,
    value_group,
    products_owned,
    service_contract_count,
    open_ticket_count,
    avg_satisfaction_score,
    last_contact_at,
    last_contact_channel,
    open_quote_count
from {{ ref('customer_360') }}
order by order_count desc, customer_id
limit 5
