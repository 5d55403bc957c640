{#-
    Q11 (is service only a cost?): one row per customer with an order or a ticket: service revenue
    (order lines of service products: maintenance contracts, installation, repair, training),
    maintenance contracts bought, tickets and their experience, and whether the customer bought
    again after the experience. A bad ticket: rated <= 2, reopened, or not resolved within var
    service_bad_experience_days (default 20) calendar days. experience_group: no_ticket; bad (any
    bad ticket; experience_at = the first bad ticket's resolution, or creation + the limit while
    unresolved); good (experience_at = the first ticket's creation).
-#}
{%- set bad_days = var('service_bad_experience_days', 20) | int -%}
with lines as (
    select l.*, p.is_service, p.product_name
    from {{ ref('fct_order_lines') }} as l
    left join {{ ref('dim_product') }} as p on p.product_key = l.product_key
    where not l.is_cancelled
),

orders as (
    select * from {{ ref('fct_orders') }}
    where not is_cancelled
),

tickets as (
    select
        t.*,
        coalesce(t.satisfaction_score, 5) <= 2
            or t.reopen_count > 0
            or t.elapsed_minutes > {{ bad_days }} * 1440.0 as is_bad_experience,
        case
            when t.resolved_at is not null then t.resolved_at
            else {{ dbt.dateadd('day', bad_days, 't.created_at') }}
        end as bad_experience_at
    from {{ ref('service_tickets') }} as t
),

ticket_summary as (
    select
        customer_id,
        count(*) as ticket_count,
        min(created_at) as first_ticket_at,
        sum(case when is_bad_experience then 1 else 0 end) as bad_ticket_count,
        min(case when is_bad_experience then bad_experience_at end) as first_bad_experience_at,
        avg(cast(satisfaction_score as {{ dbt.type_float() }})) as avg_satisfaction_score,
        {{ crmwh_exact_sum('engineer_minutes') }} as engineer_minutes
    from tickets
    group by customer_id
),

line_summary as (
    select
        customer_key as customer_id,
        sum(case when is_service then revenue else 0 end) as service_revenue,
        sum(case when is_service then margin else 0 end) as service_margin,
        sum(case when is_service and product_name like 'Maintenance Contract%' then quantity else 0 end) as service_contract_count,
        sum(case when not coalesce(is_service, false) then revenue else 0 end) as product_revenue
    from lines
    group by customer_key
),

order_summary as (
    select
        o.customer_key as customer_id,
        count(*) as order_count,
        min(o.order_date) as first_order_date,
        max(o.order_date) as last_order_date,
        sum(case when o.order_date > cast(coalesce(t.first_bad_experience_at, t.first_ticket_at) as date) then 1 else 0 end)
            as orders_after_experience,
        sum(case when o.order_date > cast(coalesce(t.first_bad_experience_at, t.first_ticket_at) as date) then o.revenue else 0 end)
            as revenue_after_experience
    from orders as o
    left join ticket_summary as t on t.customer_id = o.customer_key
    group by o.customer_key
),

customers as (
    -- resolved customers only: the unknown member would pool every unresolved record
    select customer_id from order_summary
    union
    select customer_id from ticket_summary
),

known_customers as (
    select c.customer_id
    from customers as c
    inner join {{ ref('dim_customer') }} as d on d.customer_key = c.customer_id and not d.is_unknown
),

final as (
    select
        c.customer_id,
        coalesce(t.ticket_count, 0) as ticket_count,
        coalesce(t.bad_ticket_count, 0) as bad_ticket_count,
        case
            when t.ticket_count is null then 'no_ticket'
            when t.bad_ticket_count > 0 then 'bad'
            else 'good'
        end as experience_group,
        t.first_ticket_at,
        coalesce(t.first_bad_experience_at, t.first_ticket_at) as experience_at,
        t.avg_satisfaction_score,
        coalesce(t.engineer_minutes, 0) as engineer_minutes,
        coalesce(o.order_count, 0) as order_count,
        o.first_order_date,
        o.last_order_date,
        coalesce(l.product_revenue, 0) as product_revenue,
        coalesce(l.service_revenue, 0) as service_revenue,
        coalesce(l.service_margin, 0) as service_margin,
        coalesce(l.service_contract_count, 0) as service_contract_count,
        coalesce(l.service_contract_count, 0) > 0 as has_service_contract,
        coalesce(o.orders_after_experience, 0) as orders_after_experience,
        coalesce(o.revenue_after_experience, 0) as revenue_after_experience,
        coalesce(o.orders_after_experience, 0) > 0 as has_repurchased_after_experience,
        coalesce(o.order_count, 0) >= 2 as is_repeat_customer
    from known_customers as c
    left join ticket_summary as t on t.customer_id = c.customer_id
    left join order_summary as o on o.customer_id = c.customer_id
    left join line_summary as l on l.customer_id = c.customer_id
)

select {{ core_contract_select('final') }}
from final
