{#- Revenue and cost per order and product category (ERP lines only; BYOD orders have no lines). -#}
select
    'erp:' || l.order_id as order_key,
    coalesce(p.category, 'unknown') as category,
    cast(sum(l.quantity * l.unit_price) as numeric(18, 2)) as revenue,
    cast(sum(l.quantity * coalesce(l.unit_cost, 0)) as numeric(18, 2)) as cost
from {{ ref('stg_erp__order_lines') }} as l
left join {{ ref('stg_erp__products') }} as p on p.product_id = l.product_id
group by 1, 2
