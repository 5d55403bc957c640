{#-
    Q12: per customer and product, the unit prices quoted by different reps: spread, spread relative
    to the lowest price, and whether two or more reps quoted different prices.
-#}
with fx as (
    {{ sm_fx_cte() }}
),

quote_lines as (
    select
        l.customer_key,
        l.product_id,
        l.quote_id,
        l.opportunity_id,
        l.employee_id,
        l.quoted_at,
        l.discount_pct,
        {{ sm_money('l.unit_price', 'fx') }} as unit_price
    from {{ ref('fct_quote_lines') }} as l
    {{ sm_fx_join('fx', 'l.currency') }}
    where l.has_quote_header and l.unit_price is not null and l.customer_key <> {{ core_unknown_key() }}
),

per_rep as (
    -- averages of the exact decimals, not of doubles: a float sum depends on the order rows arrive in,
    -- and a re-run must give the same table bit for bit
    select customer_key, product_id, employee_id, cast(avg(unit_price) as double precision) as rep_avg_price
    from quote_lines
    group by customer_key, product_id, employee_id
),

rep_spread as (
    select
        customer_key,
        product_id,
        min(rep_avg_price) as lowest_rep_avg_price,
        max(rep_avg_price) as highest_rep_avg_price
    from per_rep
    group by customer_key, product_id
),

grouped as (
    select
        q.customer_key as customer_id,
        q.product_id,
        count(distinct q.quote_id) as n_quotes,
        count(distinct q.opportunity_id) as n_opportunities,
        count(distinct q.employee_id) as n_reps,
        min(q.unit_price) as min_unit_price,
        max(q.unit_price) as max_unit_price,
        cast(avg(q.unit_price) as double precision) as avg_unit_price,
        -- sample standard deviation from exact decimal sums (stddev_samp over doubles is order-dependent)
        cast(coalesce(sqrt(greatest(
            (sum(q.unit_price * q.unit_price) - sum(q.unit_price) * sum(q.unit_price) / count(*)) / nullif(count(*) - 1, 0),
            0)), 0) as double precision) as stddev_unit_price,
        min(q.discount_pct) as min_discount_pct,
        max(q.discount_pct) as max_discount_pct,
        min(q.quoted_at) as first_quoted_at,
        max(q.quoted_at) as last_quoted_at
    from quote_lines as q
    group by q.customer_key, q.product_id
),

products as (
    select product_id, product_name, category
    from {{ ref('dim_product') }}
    where product_id is not null
),

final as (
    select
        g.*,
        p.product_name,
        p.category as product_category,
        g.max_unit_price - g.min_unit_price as price_spread,
        {{ sm_ratio('g.max_unit_price - g.min_unit_price', 'g.min_unit_price') }} as price_spread_pct,
        r.highest_rep_avg_price - r.lowest_rep_avg_price as rep_price_gap,
        g.n_reps >= 2 and g.max_unit_price > g.min_unit_price as is_dispersed_across_reps
    from grouped as g
    left join rep_spread as r on r.customer_key = g.customer_id and r.product_id = g.product_id
    left join products as p on p.product_id = g.product_id
)

select {{ core_contract_select('final') }}
from final
