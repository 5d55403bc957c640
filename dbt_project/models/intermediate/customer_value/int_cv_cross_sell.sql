{{ config(materialized='table') }}
{#-
    Cross-buying per customer, from ERP order lines (BYOD orders have no lines:
    those customers get no row, i.e. null breadth and no cross-sell potential).
      cross_buy_breadth      categories with positive net revenue to date
      primary_category       the category with the most net margin (ties: name)
      peer_share(P, c)       share of customers whose primary category is P who bought c
      category_annual_margin margin in c over the last 365 days / its buyers in that window (>= 0)
      cross_sell_annual_margin = sum over categories c NOT bought of peer_share(P, c) x category_annual_margin(c)
      next_best_category     the c not bought with the largest peer_share x category_annual_margin
    Lines of products without a known category (not in stg_erp__products) are left out here.
-#}
with kept as (
    select o.customer_id, o.order_date, o.fx_rate, c.category, c.revenue, c.cost
    from {{ ref('int_cv_orders') }} as o
    inner join {{ ref('int_customer_order_categories') }} as c on c.order_key = o.order_key
    where o.exclusion_reason is null
        -- lines whose product is not in stg_erp__products (e.g. quarantined) have no known category:
        -- they count in historical value (int_cv_orders) but not in breadth or recommendations
        and c.category <> 'unknown'
),

customer_category as (
    select
        customer_id,
        category,
        sum(revenue * fx_rate) as revenue_eur,
        sum((revenue - cost) * fx_rate) as margin_eur,
        sum(case when order_date > {{ cv_as_of_date() }} - interval 365 day then (revenue - cost) * fx_rate else 0 end)
            as margin_last_year
    from kept
    group by customer_id, category
),

bought as (
    select * from customer_category where revenue_eur > 0
),

primary_category as (
    select customer_id, category as primary_category
    from (
        select customer_id, category,
            row_number() over (partition by customer_id order by margin_eur desc, category) as rn
        from bought
    ) as ranked
    where rn = 1
),

category_margin as (
    select
        category,
        greatest(coalesce(sum(margin_last_year) / nullif(count(*) filter (where margin_last_year <> 0), 0), 0), 0)
            as category_annual_margin
    from customer_category
    group by category
),

peers as (
    select p.primary_category, b.category, count(*) as n_buyers
    from bought as b
    inner join primary_category as p on p.customer_id = b.customer_id
    group by p.primary_category, b.category
),

peer_size as (
    select primary_category, count(*) as n_customers from primary_category group by primary_category
),

propensity as (
    select
        pe.primary_category,
        pe.category,
        cast(pe.n_buyers as double) / ps.n_customers as peer_share,
        cast(pe.n_buyers as double) / ps.n_customers * cm.category_annual_margin as expected_annual_margin
    from peers as pe
    inner join peer_size as ps on ps.primary_category = pe.primary_category
    inner join category_margin as cm on cm.category = pe.category
),

candidates as (
    select p.customer_id, pr.category, pr.expected_annual_margin
    from primary_category as p
    inner join propensity as pr on pr.primary_category = p.primary_category
    where not exists (
        select 1 from bought as b where b.customer_id = p.customer_id and b.category = pr.category
    )
),

best as (
    select
        customer_id,
        sum({{ cv_exact('expected_annual_margin') }}) as cross_sell_annual_margin,
        -- deterministic tie-break by category name (re-running a night gives identical rows)
        min(case when rn = 1 then category end) as next_best_category
    from (
        select *, row_number() over (
            partition by customer_id order by expected_annual_margin desc, category) as rn
        from candidates
    ) as ranked
    group by customer_id
),

breadth as (
    select customer_id, count(*) as cross_buy_breadth from bought group by customer_id
),

customers as (
    select distinct customer_id from customer_category
)

select
    c.customer_id,
    cast(coalesce(br.cross_buy_breadth, 0) as integer) as cross_buy_breadth,
    p.primary_category,
    cast(coalesce(b.cross_sell_annual_margin, 0) as double) as cross_sell_annual_margin,
    b.next_best_category
from customers as c
left join breadth as br on br.customer_id = c.customer_id
left join primary_category as p on p.customer_id = c.customer_id
left join best as b on b.customer_id = c.customer_id
