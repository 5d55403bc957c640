-- Q12: Two reps quoted me different prices for the same product. (quote price dispersion per product and customer)
select
    customer_id,
    product_name,
    n_reps,
    n_quotes,
    min_unit_price,
    max_unit_price,
    price_spread,
    round(cast(price_spread_pct as numeric), 3) as price_spread_pct,
    last_quoted_at
from {{ ref('sales_quote_price_dispersion') }}
where is_dispersed_across_reps
order by price_spread_pct desc
