{#-
    Cohort retention as of as_of_date: customers grouped by the month of their first purchase;
    for each later month, how many of them purchased in it. Rebuilt every night (a cohort's past
    does not change, except through late or corrected orders, which a rebuild picks up).
-#}
with purchases as (
    select customer_id, date_trunc('month', order_date) as month, revenue_eur, margin_eur
    from {{ ref('int_cv_orders') }}
    where order_kind = 'purchase'
),

cohort as (
    select customer_id, min(month) as cohort_month from purchases group by customer_id
),

cohort_size as (
    select cohort_month, count(*) as n_customers from cohort group by cohort_month
),

activity as (
    select
        c.cohort_month,
        p.month,
        count(distinct p.customer_id) as n_active,
        sum(p.revenue_eur) as revenue,
        sum(p.margin_eur) as margin
    from purchases as p
    inner join cohort as c on c.customer_id = p.customer_id
    group by c.cohort_month, p.month
)

select
    {{ cv_as_of_date() }} as as_of_date,
    cast(a.cohort_month as date) as cohort_month,
    cast(date_diff('month', a.cohort_month, a.month) as integer) as months_since_first_purchase,
    cast(a.month as date) as activity_month,
    cast(s.n_customers as bigint) as cohort_customers,
    cast(a.n_active as bigint) as active_customers,
    cast(a.n_active * 1.0 / s.n_customers as double) as retention_rate,
    cast(a.revenue as double) as revenue,
    cast(a.margin as double) as margin
from activity as a
inner join cohort_size as s on s.cohort_month = a.cohort_month
