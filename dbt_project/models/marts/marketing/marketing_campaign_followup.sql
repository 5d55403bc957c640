{#-
    Q5, Q6: one row per campaign touch (a send, a business card / brochure hand-out of a lead, an
    event registration) and what followed: response, the lead's funnel, talks with sales, purchases.

    Incremental (macros/marts/customer_incremental.sql): a night rebuilds the touches listed in
    int_marketing_campaign_followup__changed_touches. A touch is never deleted (core facts keep their rows).
-#}
-- depends_on: {{ ref('int_marketing_campaign_followup__changed_touches') }}
{{ mart_incremental_config('int_marketing_campaign_followup__changed_touches', 'touch_key') }}

with touches as (
    select * from {{ ref('fct_campaign_touches') }}
    {%- if mart_is_incremental() %}
    where touch_key in (
        select touch_key from {{ ref('int_marketing_campaign_followup__changed_touches') }} where touch_key is not null
    )
    {%- endif %}
),

campaigns as (
    select campaign_id, campaign_name, campaign_type, start_date
    from {{ ref('dim_campaign') }}
    where campaign_id is not null
),

leads as (
    select lead_id, lead_status, funnel_stage, lead_score, is_real_prospect, reached_contact, reached_opportunity,
        reached_won, became_customer
    from {{ ref('sales_leads') }}
),

sales_staff as (
    select employee_key from {{ ref('dim_employee') }} where department_code = 'sales'
),

interactions as (
    select i.customer_key, i.occurred_at, i.direction, s.employee_key is not null as is_with_sales
    from {{ ref('fct_interactions') }} as i
    left join sales_staff as s on s.employee_key = i.employee_key
    where i.customer_key <> {{ core_unknown_key() }}
),

orders as (
    select customer_key, order_date
    from {{ ref('fct_orders') }}
    where not is_cancelled and customer_key <> {{ core_unknown_key() }}
),

opportunities as (
    select customer_id, created_date, is_won
    from {{ ref('sales_opportunities') }}
),

known_touches as (
    select touch_key, customer_key, touched_at
    from touches
    where customer_key <> {{ core_unknown_key() }}
),

after_interactions as (
    select
        t.touch_key,
        sum(case when i.is_with_sales then 1 else 0 end) as n_sales_interactions_after,
        min(case when i.is_with_sales then i.occurred_at end) as first_sales_interaction_at,
        sum(case when i.direction = 'inbound' then 1 else 0 end) as n_inbound_interactions_after
    from known_touches as t
    inner join interactions as i on i.customer_key = t.customer_key and i.occurred_at >= t.touched_at
    group by t.touch_key
),

after_orders as (
    select t.touch_key, min(o.order_date) as first_order_date_after
    from known_touches as t
    inner join orders as o on o.customer_key = t.customer_key and o.order_date >= cast(t.touched_at as date)
    group by t.touch_key
),

before_orders as (
    select t.touch_key, count(*) as n_orders_before
    from known_touches as t
    inner join orders as o on o.customer_key = t.customer_key and o.order_date < cast(t.touched_at as date)
    group by t.touch_key
),

after_opportunities as (
    select
        t.touch_key,
        count(*) as n_opportunities_after,
        sum(case when o.is_won then 1 else 0 end) as n_won_opportunities_after
    from known_touches as t
    inner join opportunities as o on o.customer_id = t.customer_key and o.created_date >= cast(t.touched_at as date)
    group by t.touch_key
),

final as (
    select
        t.touch_key,
        t.touch_type,
        t.touch_id,
        t.campaign_id,
        c.campaign_name,
        c.campaign_type,
        c.start_date as campaign_start_date,
        t.department_code,
        t.channel_code,
        t.contact_id,
        t.lead_id,
        t.customer_key as customer_id,
        t.customer_key <> {{ core_unknown_key() }} as is_customer_resolved,
        t.touched_at,
        t.touch_status,
        t.is_responded,
        t.responded_at,
        t.is_attended,
        l.lead_status,
        l.funnel_stage as lead_funnel_stage,
        l.lead_score,
        l.is_real_prospect,
        l.reached_contact as lead_reached_contact,
        l.reached_opportunity as lead_reached_opportunity,
        l.reached_won as lead_reached_won,
        l.became_customer as lead_became_customer,
        coalesce(bo.n_orders_before, 0) > 0 as was_customer_before,
        coalesce(ai.n_sales_interactions_after, 0) as n_sales_interactions_after,
        coalesce(ai.n_sales_interactions_after, 0) > 0 as has_talked_to_sales_after,
        ai.first_sales_interaction_at,
        {{ sm_days_between('t.touched_at', 'ai.first_sales_interaction_at') }} as days_to_first_sales_interaction,
        coalesce(ai.n_inbound_interactions_after, 0) as n_inbound_interactions_after,
        coalesce(ao.n_opportunities_after, 0) as n_opportunities_after,
        coalesce(ao.n_won_opportunities_after, 0) as n_won_opportunities_after,
        ord.first_order_date_after,
        ord.first_order_date_after is not null as has_purchased_after,
        t.source_night
    from touches as t
    left join campaigns as c on c.campaign_id = t.campaign_id
    left join leads as l on l.lead_id = t.lead_id
    left join after_interactions as ai on ai.touch_key = t.touch_key
    left join after_orders as ord on ord.touch_key = t.touch_key
    left join before_orders as bo on bo.touch_key = t.touch_key
    left join after_opportunities as ao on ao.touch_key = t.touch_key
)

select {{ core_contract_select('final') }}
from final
