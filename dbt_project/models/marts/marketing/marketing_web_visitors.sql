{#-
    Q9: one row per website visitor and product page viewed (product_id null: sessions without a
    product page), with the known customer behind the visitor (identity bridge) and whether they
    bought the product. Sessions come from staging: core has no web-visit fact yet.
-#}
with visits as (
    select visit_id, visitor_id, visitor_email, product_id, pages_viewed, referrer, visited_at
    from {{ ref('stg_crm__web_visits') }}
    where visitor_id is not null
),

visitor_bridge as (
    select source_id as visitor_id, customer_key
    from {{ ref('bridge_customer_source_id') }}
    where source_system = 'crm' and source_entity = 'web_visits'
),

customers as (
    select customer_key, customer_type, country from {{ ref('dim_customer') }}
),

products as (
    select product_id, product_name, category from {{ ref('dim_product') }} where product_id is not null
),

bought as (
    select customer_key, product_id, min(order_date) as first_bought_date, max(order_date) as last_bought_date
    from {{ ref('fct_order_lines') }}
    where not is_cancelled and quantity > 0 and customer_key <> {{ core_unknown_key() }}
    group by customer_key, product_id
),

buyers as (
    select customer_key, count(*) as n_orders
    from {{ ref('fct_orders') }}
    where not is_cancelled and customer_key <> {{ core_unknown_key() }}
    group by customer_key
),

per_visitor as (
    select
        visitor_id,
        count(*) as visitor_n_visits,
        count(distinct product_id) as visitor_n_products,
        max(case when visitor_email is not null then 1 else 0 end) = 1 as is_identified
    from visits
    group by visitor_id
),

per_product as (
    select
        visitor_id,
        product_id,
        count(*) as n_visits,
        sum(coalesce(pages_viewed, 0)) as pages_viewed,
        min(visited_at) as first_visited_at,
        max(visited_at) as last_visited_at,
        sum(case when referrer = 'search' then 1 else 0 end) as n_from_search,
        sum(case when referrer = 'ads' then 1 else 0 end) as n_from_ads,
        sum(case when referrer = 'email' then 1 else 0 end) as n_from_email
    from visits
    group by visitor_id, product_id
),

final as (
    select
        p.visitor_id,
        coalesce(b.customer_key, {{ core_unknown_key() }}) as customer_id,
        coalesce(b.customer_key, {{ core_unknown_key() }}) <> {{ core_unknown_key() }} as is_known_customer,
        v.is_identified,
        coalesce(c.customer_type, 'unknown') as customer_type,
        c.country as customer_country,
        coalesce(bu.n_orders, 0) > 0 as is_buyer,
        p.product_id,
        pr.product_name,
        pr.category as product_category,
        p.n_visits,
        p.pages_viewed,
        p.first_visited_at,
        p.last_visited_at,
        p.n_from_search,
        p.n_from_ads,
        p.n_from_email,
        v.visitor_n_visits,
        v.visitor_n_products,
        row_number() over (
            partition by p.visitor_id
            order by case when p.product_id is null then 1 else 0 end, p.n_visits desc, p.pages_viewed desc, p.product_id
        ) = 1 and p.product_id is not null as is_top_interest,
        bo.first_bought_date is not null as has_bought_product,
        bo.last_bought_date >= cast(p.first_visited_at as date) as has_bought_product_after_visit
    from per_product as p
    inner join per_visitor as v on v.visitor_id = p.visitor_id
    left join visitor_bridge as b on b.visitor_id = p.visitor_id
    left join customers as c on c.customer_key = b.customer_key
    left join products as pr on pr.product_id = p.product_id
    left join bought as bo on bo.customer_key = b.customer_key and bo.product_id = p.product_id
    left join buyers as bu on bu.customer_key = b.customer_key
)

select {{ core_contract_select('final') }}
from final
