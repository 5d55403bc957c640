{#-
    Q4: one row per campaign: cost, reach, responses, leads and the revenue and margin attributed
    to it (rule in the model description: last touch within var marketing_attribution_days).
-#}
with fx as (
    {{ sm_fx_cte() }}
),

campaigns as (
    select c.*, {{ sm_money('c.actual_cost', 'cfx') }} as cost_reporting, {{ sm_money('c.budget', 'cfx') }} as budget_reporting
    from {{ ref('dim_campaign') }} as c
    {{ sm_fx_join('cfx', 'c.currency') }}
    where c.campaign_id is not null
),

touches as (
    select * from {{ ref('fct_campaign_touches') }}
),

leads as (
    select * from {{ ref('fct_lead_conversions') }}
),

-- what may earn credit for a purchase: a response to a campaign, or a lead the campaign produced
credit_touches as (
    select campaign_id, customer_key, coalesce(responded_at, touched_at) as touched_at
    from touches
    where is_responded and customer_key <> {{ core_unknown_key() }} and campaign_id is not null
    union all
    select campaign_id, customer_key, created_at
    from leads
    where campaign_id is not null and customer_key <> {{ core_unknown_key() }}
),

orders as (
    select
        o.order_key,
        o.customer_key,
        o.order_date,
        {{ sm_money('o.revenue', 'fx') }} as revenue,
        {{ sm_money('o.margin', 'fx') }} as margin
    from {{ ref('fct_orders') }} as o
    {{ sm_fx_join('fx', 'o.currency') }}
    where not o.is_cancelled and o.customer_key <> {{ core_unknown_key() }} and o.order_date is not null
),

candidates as (
    select
        o.order_key,
        o.customer_key,
        o.revenue,
        o.margin,
        t.campaign_id,
        row_number() over (partition by o.order_key order by t.touched_at desc, t.campaign_id) as touch_rank
    from orders as o
    inner join credit_touches as t
        on t.customer_key = o.customer_key
        and cast(t.touched_at as date) <= o.order_date
        and o.order_date <= {{ dbt.dateadd('day', sm_attribution_days(), 'cast(t.touched_at as date)') }}
),

attributed as (
    select
        campaign_id,
        count(*) as n_attributed_orders,
        count(distinct customer_key) as n_attributed_customers,
        sum(revenue) as attributed_revenue,
        sum(margin) as attributed_margin
    from candidates
    where touch_rank = 1
    group by campaign_id
),

sends as (
    select
        campaign_id,
        sum(case when touch_type = 'send' then 1 else 0 end) as n_sends,
        count(distinct case when customer_key <> {{ core_unknown_key() }} then customer_key end) as n_customers_reached,
        sum(case when touch_type = 'send' and is_responded then 1 else 0 end) as n_responses,
        sum(case when touch_type = 'registration' then 1 else 0 end) as n_registrations,
        sum(case when touch_type = 'registration' and is_attended then 1 else 0 end) as n_attended
    from touches
    group by campaign_id
),

campaign_leads as (
    select
        campaign_id,
        count(*) as n_leads,
        sum(case when is_converted then 1 else 0 end) as n_leads_converted
    from leads
    where campaign_id is not null
    group by campaign_id
),

campaign_opportunities as (
    select
        campaign_id,
        count(*) as n_opportunities,
        sum(case when is_won then 1 else 0 end) as n_won_opportunities,
        sum(case when is_won then amount else 0 end) as won_opportunity_amount
    from {{ ref('sales_opportunities') }}
    where campaign_id is not null
    group by campaign_id
),

joined as (
    select
        c.campaign_id,
        c.campaign_name,
        c.campaign_type,
        c.department_code,
        c.material_code,
        c.start_date,
        c.end_date,
        c.budget_reporting as budget,
        c.cost_reporting as cost,
        coalesce(s.n_sends, 0) as n_sends,
        coalesce(s.n_customers_reached, 0) as n_customers_reached,
        coalesce(s.n_responses, 0) as n_responses,
        coalesce(s.n_registrations, 0) as n_registrations,
        coalesce(s.n_attended, 0) as n_attended,
        coalesce(l.n_leads, 0) as n_leads,
        coalesce(l.n_leads_converted, 0) as n_leads_converted,
        coalesce(op.n_opportunities, 0) as n_opportunities,
        coalesce(op.n_won_opportunities, 0) as n_won_opportunities,
        coalesce(op.won_opportunity_amount, 0) as won_opportunity_amount,
        coalesce(a.n_attributed_orders, 0) as n_attributed_orders,
        coalesce(a.n_attributed_customers, 0) as n_attributed_customers,
        coalesce(a.attributed_revenue, 0) as attributed_revenue,
        coalesce(a.attributed_margin, 0) as attributed_margin
    from campaigns as c
    left join sends as s on s.campaign_id = c.campaign_id
    left join campaign_leads as l on l.campaign_id = c.campaign_id
    left join campaign_opportunities as op on op.campaign_id = c.campaign_id
    left join attributed as a on a.campaign_id = c.campaign_id
),

final as (
    select
        *,
        {{ sm_ratio('attributed_margin - cost', 'cost') }} as roi,
        {{ sm_ratio('attributed_revenue', 'cost') }} as revenue_per_cost,
        {{ sm_ratio('n_responses', 'n_sends') }} as response_rate,
        {{ sm_ratio('cost', 'n_leads') }} as cost_per_lead,
        {{ sm_ratio('cost', 'n_responses + n_registrations') }} as cost_per_response,
        {{ sm_attribution_days() }} as attribution_window_days
    from joined
)

select {{ core_contract_select('final') }}
from final
