-- Q22: (FedEx) What is each customer worth over the whole relationship, not one month, and what are their referrals worth?
{{ config(enabled=target.type == 'duckdb') }}
-- Latest night of marts.customer_value (DuckDB only). fedex_style_value is the documents' arithmetic,
-- average monthly revenue x 12 x 10 years (1,500 a month -> 180,000); lifetime_value is the model's
-- historical + current + potential margin; referral_value is what the customers they referred have brought.
with customer_value as (
    select * from {{ ref('customer_value') }}
),

latest as (
    select * from customer_value
    where as_of_date = (select max(as_of_date) from customer_value)
)

select
    customer_id,
    as_of_date,
    value_group,
    revenue_to_date,
    tenure_days,
    round(revenue_to_date / greatest(tenure_days / 30.44, 1.0), 2) as monthly_revenue,
    round(revenue_to_date / greatest(tenure_days / 30.44, 1.0) * 12 * 10, 2) as fedex_style_value,
    historical_value,
    current_value,
    potential_value,
    lifetime_value,
    referral_count,
    referral_value,
    referral_potential_value,
    lifetime_value + coalesce(referral_value, 0) as lifetime_value_with_referrals
from latest
order by lifetime_value desc
