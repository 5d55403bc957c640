{{ config(alias='service_customer_experience') }}
-- marts.service_customer_experience for BI tools: it holds no personal data, column for column.
select
    customer_id,
    ticket_count,
    bad_ticket_count,
    experience_group,
    first_ticket_at,
    avg_satisfaction_score,
    engineer_minutes,
    order_count,
    first_order_date,
    last_order_date,
    product_revenue,
    service_revenue,
    service_margin,
    service_contract_count,
    has_service_contract,
    experience_at,
    orders_after_experience,
    revenue_after_experience,
    has_repurchased_after_experience,
    is_repeat_customer
from {{ ref('service_customer_experience') }}
