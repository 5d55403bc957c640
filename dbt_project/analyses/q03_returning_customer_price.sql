-- Q3: What price to quote a returning customer so that we keep them? (price and discount history, customer value tier)
{{ config(enabled=target.type == 'duckdb') }}
-- Per customer and product bought more than once: the prices they accepted, the last one, and their value group.
with accepted as (
    select *
    from {{ ref('sales_price_history') }}
    where is_accepted and event_type = 'order'
),

last_price as (
    select customer_id, product_id, unit_price as last_unit_price, discount_pct as last_discount_pct
    from (
        select *, row_number() over (partition by customer_id, product_id order by event_date desc, price_event_id desc) as rn
        from accepted
    ) as ranked
    where rn = 1
)

select
    a.value_group,
    a.customer_id,
    a.product_name,
    count(*) as purchases,
    min(a.unit_price) as lowest_price_paid,
    max(a.unit_price) as highest_price_paid,
    round(cast(avg(a.discount_pct) as numeric), 3) as avg_discount,
    l.last_unit_price,
    round(cast(l.last_discount_pct as numeric), 3) as last_discount,
    max(a.current_list_price) as list_price_today,
    -- suggestion: keep the discount the customer last accepted, on today's list price
    round(cast(max(a.current_list_price) * (1 - coalesce(l.last_discount_pct, 0)) as numeric), 2) as suggested_price
from accepted as a
inner join last_price as l on l.customer_id = a.customer_id and l.product_id = a.product_id
group by a.value_group, a.customer_id, a.product_name, l.last_unit_price, l.last_discount_pct
having count(*) > 1
order by case a.value_group when 'loyal' then 1 when 'repeat' then 2 when 'prospective' then 3 else 4 end, purchases desc
