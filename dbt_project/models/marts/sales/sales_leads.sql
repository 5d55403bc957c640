{#-
    One row per CRM lead: where it came from, how far it got (contact, opportunity, won,
    purchase), how the person engaged afterwards, and a lead score with a "real prospect" flag.
    Rules are in the model description (_sales__models.yml).
-#}
with fx as (
    {{ sm_fx_cte() }}
),

leads as (
    select * from {{ ref('fct_lead_conversions') }}
),

campaigns as (
    select campaign_id, campaign_name, campaign_type, department_code
    from {{ ref('dim_campaign') }}
    where campaign_id is not null
),

opportunities as (
    select opportunity_id, customer_id, created_date, is_won, is_closed, amount
    from {{ ref('sales_opportunities') }}
),

orders as (
    select o.customer_key, o.order_date, {{ sm_money('o.revenue', 'fx') }} as revenue
    from {{ ref('fct_orders') }} as o
    {{ sm_fx_join('fx', 'o.currency') }}
    where not o.is_cancelled and o.customer_key <> {{ core_unknown_key() }}
),

sales_staff as (
    select employee_key from {{ ref('dim_employee') }} where department_code = 'sales'
),

interactions as (
    select
        i.customer_key,
        i.occurred_at,
        i.direction,
        s.employee_key is not null as is_with_sales
    from {{ ref('fct_interactions') }} as i
    left join sales_staff as s on s.employee_key = i.employee_key
    where i.customer_key <> {{ core_unknown_key() }}
),

responses as (
    select customer_key, coalesce(responded_at, touched_at) as responded_at
    from {{ ref('fct_campaign_touches') }}
    where is_responded and customer_key <> {{ core_unknown_key() }}
),

known_leads as (
    select lead_id, customer_key, created_at
    from leads
    where customer_key <> {{ core_unknown_key() }}
),

-- the lead's opportunity: the one its conversion created, else the customer's first opportunity
-- created on or after the lead (within 365 days)
later_opportunities as (
    select
        l.lead_id,
        o.opportunity_id,
        row_number() over (partition by l.lead_id order by o.created_date, o.opportunity_id) as rn
    from known_leads as l
    inner join opportunities as o
        on o.customer_id = l.customer_key
        and o.created_date >= cast(l.created_at as date)
        and o.created_date <= {{ dbt.dateadd('day', 365, 'cast(l.created_at as date)') }}
),

lead_orders as (
    select
        l.lead_id,
        min(o.order_date) as first_order_date_after_lead,
        count(*) as n_orders_365d_after_lead,
        sum(o.revenue) as revenue_365d_after_lead
    from known_leads as l
    inner join orders as o
        on o.customer_key = l.customer_key
        and o.order_date >= cast(l.created_at as date)
        and o.order_date <= {{ dbt.dateadd('day', 365, 'cast(l.created_at as date)') }}
    group by l.lead_id
),

earlier_orders as (
    select l.lead_id, count(*) as n_orders_before_lead
    from known_leads as l
    inner join orders as o on o.customer_key = l.customer_key and o.order_date < cast(l.created_at as date)
    group by l.lead_id
),

lead_interactions as (
    select
        l.lead_id,
        sum(case when i.direction = 'inbound' then 1 else 0 end) as n_inbound_interactions,
        sum(case when i.is_with_sales then 1 else 0 end) as n_sales_interactions,
        min(case when i.is_with_sales then i.occurred_at end) as first_sales_interaction_at
    from known_leads as l
    inner join interactions as i on i.customer_key = l.customer_key and i.occurred_at >= l.created_at
    group by l.lead_id
),

lead_responses as (
    select l.lead_id, count(*) as n_campaign_responses
    from known_leads as l
    inner join responses as r on r.customer_key = l.customer_key and r.responded_at >= l.created_at
    group by l.lead_id
),

joined as (
    select
        l.lead_id,
        l.lead_source,
        l.campaign_id,
        c.campaign_name,
        c.campaign_type,
        c.department_code as campaign_department_code,
        l.owner_employee_id,
        l.lead_status,
        l.company as lead_company,
        l.company is not null as has_company,
        l.customer_key as customer_id,
        l.customer_key <> {{ core_unknown_key() }} as is_customer_resolved,
        l.created_at,
        cast(l.created_at as date) as created_date,
        l.converted_at,
        l.converted_contact_id,
        l.converted_account_id,
        l.is_converted,
        l.days_to_convert,
        coalesce(l.converted_opportunity_id, lo.opportunity_id) as opportunity_id,
        o.is_won as is_opportunity_won,
        o.is_closed as is_opportunity_closed,
        o.amount as opportunity_amount,
        coalesce(eo.n_orders_before_lead, 0) > 0 as was_customer_before_lead,
        ord.first_order_date_after_lead,
        coalesce(ord.n_orders_365d_after_lead, 0) as n_orders_365d_after_lead,
        coalesce(ord.revenue_365d_after_lead, 0) as revenue_365d_after_lead,
        coalesce(li.n_inbound_interactions, 0) as n_inbound_interactions,
        coalesce(lr.n_campaign_responses, 0) as n_campaign_responses,
        coalesce(li.n_sales_interactions, 0) as n_sales_interactions,
        li.first_sales_interaction_at
    from leads as l
    left join campaigns as c on c.campaign_id = l.campaign_id
    left join later_opportunities as lo on lo.lead_id = l.lead_id and lo.rn = 1
    left join opportunities as o on o.opportunity_id = coalesce(l.converted_opportunity_id, lo.opportunity_id)
    left join earlier_orders as eo on eo.lead_id = l.lead_id
    left join lead_orders as ord on ord.lead_id = l.lead_id
    left join lead_interactions as li on li.lead_id = l.lead_id
    left join lead_responses as lr on lr.lead_id = l.lead_id
),

staged as (
    select
        *,
        -- funnel stages are cumulative: an opportunity implies a contact, a win implies an opportunity
        opportunity_id is not null or is_converted as reached_contact,
        opportunity_id is not null as reached_opportunity,
        coalesce(is_opportunity_won, false) as reached_won,
        coalesce(is_opportunity_won, false) or first_order_date_after_lead is not null as became_customer,
        n_inbound_interactions + n_campaign_responses > 0 as has_engaged,
        n_sales_interactions > 0 as has_talked_to_sales
    from joined
),

scored as (
    select
        *,
        case when lead_status = 'disqualified' then 0 else
            (case when reached_contact then 40 else 0 end)
            + (case when reached_opportunity then 25 else 0 end)
            + (case when has_engaged then 15 else 0 end)
            + (case when has_talked_to_sales then 10 else 0 end)
            + (case when has_company then 10 else 0 end)
        end as lead_score
    from staged
),

final as (
    select
        *,
        case
            when reached_won then 'won'
            when reached_opportunity then 'opportunity'
            when reached_contact then 'contact'
            else 'lead'
        end as funnel_stage,
        lead_score >= {{ var('sales_real_prospect_min_score', 50) }} as is_real_prospect
    from scored
)

select {{ core_contract_select('final') }}
from final
