{#-
    Q27: satisfaction and loyalty trends by segment. Rebuilt every night as of as_of_date (late
    ratings and orders are picked up; one night's table answers every past month). Per calendar month
    up to as_of_date x dimension (value_group, rfm_segment, or all) x group, customers are grouped by
    the group they were in THAT month: their row in marts.customer_value's history on the last night
    recorded up to the month's end; for months before the first recorded night, their earliest
    recorded group (the warehouse knows nothing older).
      satisfaction: tickets of the group's customers solved in the month (else created in it, for
        tickets never solved) that carry a satisfaction rating (fct_tickets.satisfaction_score, the
        latest rating, 1 bad to 5 good): count, average score, share rated 4 or 5;
      loyalty: customers who purchased in the month (kept purchases of int_cv_orders), of them those
        who had purchased before that month (repeat), repeat_purchase_rate = repeat / purchasing.
-#}
with value_history as (
    select customer_id, as_of_date, value_group, rfm_segment
    from {{ ref('customer_value') }}
    where as_of_date <= {{ cv_as_of_date() }}
),

ratings as (
    select
        customer_key as customer_id,
        date_trunc('month', coalesce(solved_at, created_at)) as month,
        satisfaction_score
    from {{ ref('fct_tickets') }}
    where satisfaction_score is not null
        and cast(coalesce(solved_at, created_at) as date) <= {{ cv_as_of_date() }}
),

purchases as (
    select customer_id, date_trunc('month', order_date) as month
    from {{ ref('int_cv_orders') }}
    where order_kind = 'purchase'
    group by customer_id, date_trunc('month', order_date)
),

purchase_months as (
    select
        customer_id,
        month,
        month > min(month) over (partition by customer_id) as is_repeat
    from purchases
),

customer_months as (
    select customer_id, month from ratings
    union
    select customer_id, month from purchase_months
),

first_groups as (
    select
        customer_id,
        arg_min(value_group, as_of_date) as value_group,
        arg_min(rfm_segment, as_of_date) as rfm_segment
    from value_history
    group by customer_id
),

-- The customer's group each month: the last night recorded by the month's end (an asof join, so the
-- history is not multiplied by months), else the earliest recorded night.
month_groups as (
    select
        cm.customer_id,
        cm.month,
        coalesce(h.value_group, f.value_group) as value_group,
        coalesce(h.rfm_segment, f.rfm_segment) as rfm_segment
    from customer_months as cm
    inner join first_groups as f on f.customer_id = cm.customer_id
    asof left join value_history as h
        on h.customer_id = cm.customer_id
        and cast(cm.month as date) + interval 1 month > h.as_of_date
),

groups as (
    select customer_id, month, 'value_group' as dimension, value_group as group_name from month_groups
    union all
    select customer_id, month, 'rfm_segment', rfm_segment from month_groups
    union all
    select customer_id, month, 'all', 'all' from month_groups
),

satisfaction as (
    select g.dimension, g.group_name, r.month,
        count(*) as n_rated_tickets,
        avg(r.satisfaction_score) as avg_satisfaction_score,
        count(*) filter (where r.satisfaction_score >= 4) * 1.0 / count(*) as satisfied_share
    from ratings as r
    inner join groups as g on g.customer_id = r.customer_id and g.month = r.month
    group by g.dimension, g.group_name, r.month
),

loyalty as (
    select g.dimension, g.group_name, p.month,
        count(*) as purchasing_customers,
        count(*) filter (where p.is_repeat) as repeat_customers
    from purchase_months as p
    inner join groups as g on g.customer_id = p.customer_id and g.month = p.month
    group by g.dimension, g.group_name, p.month
),

keys as (
    select dimension, group_name, month from satisfaction
    union
    select dimension, group_name, month from loyalty
)

select
    {{ cv_as_of_date() }} as as_of_date,
    cast(k.month as date) as month,
    cast(k.dimension as varchar) as dimension,
    cast(k.group_name as varchar) as group_name,
    cast(coalesce(s.n_rated_tickets, 0) as bigint) as n_rated_tickets,
    cast(s.avg_satisfaction_score as double) as avg_satisfaction_score,
    cast(s.satisfied_share as double) as satisfied_share,
    cast(coalesce(l.purchasing_customers, 0) as bigint) as purchasing_customers,
    cast(coalesce(l.repeat_customers, 0) as bigint) as repeat_customers,
    cast(l.repeat_customers * 1.0 / nullif(l.purchasing_customers, 0) as double) as repeat_purchase_rate
from keys as k
left join satisfaction as s on s.dimension = k.dimension and s.group_name = k.group_name and s.month = k.month
left join loyalty as l on l.dimension = k.dimension and l.group_name = k.group_name and l.month = k.month
