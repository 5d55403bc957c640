-- Q26: Does winning a new customer cost more than keeping one, and how does the share of repeat customers move over time?
{{ config(enabled=target.type == 'duckdb') }}
-- Per month of the campaign touch: each campaign's cost spread evenly over its touches, split into touches
-- of prospects (no kept order before the touch: acquisition) and of customers (retention); a prospect
-- acquired / a customer retained bought on or after the touch. Beside it, marts.repeat_customer_share.
with touches as (
    select
        campaign_id,
        cast({{ dbt.date_trunc('month', 'touched_at') }} as date) as month,
        customer_id,
        coalesce(was_customer_before, false) as was_customer_before,
        coalesce(has_purchased_after, false) as has_purchased_after,
        is_customer_resolved
    from {{ ref('marketing_campaign_followup') }}
),

cost_per_touch as (
    select c.campaign_id, c.cost / count(*) as cost_per_touch
    from {{ ref('marketing_campaign_performance') }} as c
    inner join touches as t on t.campaign_id = c.campaign_id
    group by c.campaign_id, c.cost
),

monthly_spend as (
    select
        t.month,
        sum(case when not t.was_customer_before then k.cost_per_touch else 0 end) as acquisition_spend,
        sum(case when t.was_customer_before then k.cost_per_touch else 0 end) as retention_spend,
        count(distinct case when t.is_customer_resolved and not t.was_customer_before and t.has_purchased_after
            then t.customer_id end) as customers_acquired,
        count(distinct case when t.was_customer_before and t.has_purchased_after then t.customer_id end)
            as customers_retained
    from touches as t
    inner join cost_per_touch as k on k.campaign_id = t.campaign_id
    group by t.month
),

repeat_share as (
    select * from {{ ref('repeat_customer_share') }}
    where as_of_date = (select max(as_of_date) from {{ ref('repeat_customer_share') }})
)

select
    r.month,
    r.purchasing_customers,
    r.new_customers,
    r.repeat_customers,
    r.repeat_customer_share,
    s.acquisition_spend,
    s.customers_acquired,
    s.acquisition_spend / nullif(s.customers_acquired, 0) as acquisition_cost_per_customer,
    s.retention_spend,
    s.customers_retained,
    s.retention_spend / nullif(s.customers_retained, 0) as retention_cost_per_customer
from repeat_share as r
left join monthly_spend as s on s.month = r.month
order by r.month
