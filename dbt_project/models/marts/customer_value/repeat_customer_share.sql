{#-
    Q26: share of repeat customers over time. Per calendar month up to as_of_date: customers who
    purchased, of whom new (first purchase that month) and repeat (bought before), and the revenue
    and margin of each. Acquisition vs retention cost needs campaign costs per customer (marketing
    marts); this table gives the customer side.
-#}
with purchases as (
    select customer_id, order_date, date_trunc('month', order_date) as month, revenue_eur, margin_eur
    from {{ ref('int_cv_orders') }}
    where order_kind = 'purchase'
),

first_purchase as (
    select customer_id, date_trunc('month', min(order_date)) as first_month from purchases group by customer_id
),

monthly as (
    select
        p.month,
        p.customer_id,
        p.month = f.first_month as is_new,
        sum(p.revenue_eur) as revenue,
        sum(p.margin_eur) as margin
    from purchases as p
    inner join first_purchase as f on f.customer_id = p.customer_id
    group by p.month, p.customer_id, f.first_month
)

select
    {{ cv_as_of_date() }} as as_of_date,
    cast(month as date) as month,
    cast(count(*) as bigint) as purchasing_customers,
    cast(count(*) filter (where is_new) as bigint) as new_customers,
    cast(count(*) filter (where not is_new) as bigint) as repeat_customers,
    cast(count(*) filter (where not is_new) * 1.0 / count(*) as double) as repeat_customer_share,
    cast(sum(revenue) filter (where is_new) as double) as new_customer_revenue,
    cast(sum(revenue) filter (where not is_new) as double) as repeat_customer_revenue,
    cast(sum(margin) filter (where not is_new) / nullif(sum(margin), 0) as double) as repeat_margin_share
from monthly
group by month
