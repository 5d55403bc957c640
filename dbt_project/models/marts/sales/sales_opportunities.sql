{#-
    One row per ERP opportunity (its current version in the snapshot), with outcome, amount in the
    reporting currency, deal size band, the customer's segment, owner, stage history and quotes.
-#}
with fx as (
    {{ sm_fx_cte() }}
),

opportunities as (
    select * from {{ ref('snp_erp__opportunities') }}
    where dbt_valid_to is null
),

customer_bridge as (
    select source_id, customer_key
    from {{ ref('bridge_customer_source_id') }}
    where source_system = 'erp' and source_entity = 'customers'
),

customers as (
    select customer_key, customer_type, country
    from {{ ref('dim_customer') }}
),

accounts as (
    select account_id, industry
    from {{ ref('dim_account') }}
),

employees as (
    select employee_id, territory_id, region, is_employed
    from {{ ref('dim_employee') }}
),

kept_orders as (
    select customer_key, order_date
    from {{ ref('fct_orders') }}
    where not is_cancelled
),

recent_orders as (
    -- kept orders per customer in the 365 days up to the as-of date: the segment rule
    select customer_key, count(*) as n_orders_365d
    from kept_orders
    where order_date <= {{ cv_as_of_date() }}
        and order_date > {{ dbt.dateadd('day', -365, cv_as_of_date()) }}
    group by customer_key
),

stage_changes as (
    select
        opportunity_id,
        count(*) as n_stage_changes,
        max(case when to_stage in ('closed_won', 'closed_lost') then changed_at end) as closing_change_at
    from {{ ref('fct_opportunity_stage_changes') }}
    group by opportunity_id
),

quotes as (
    select
        q.opportunity_id,
        count(distinct q.quote_id) as n_quotes,
        count(distinct q.employee_id) as n_quoting_reps,
        min(q.quoted_at) as first_quoted_at,
        {{ crmwh_exact_avg('l.discount_pct') }} as avg_quote_discount_pct
    from {{ ref('fct_quotes') }} as q
    left join {{ ref('fct_quote_lines') }} as l on l.quote_id = q.quote_id
    group by q.opportunity_id
),

joined as (
    select
        o.opportunity_id,
        o.opportunity_name,
        coalesce(b.customer_key, {{ core_unknown_key() }}) as customer_id,
        o.customer_id as erp_customer_id,
        o.crm_account_id,
        o.lead_id,
        o.campaign_id,
        o.owner_employee_id,
        e.territory_id as owner_territory_id,
        e.region as owner_region,
        coalesce(e.is_employed, false) as is_owner_employed,
        o.stage,
        o.stage in ('closed_won', 'closed_lost') as is_closed,
        o.stage = 'closed_won' as is_won,
        o.stage = 'closed_lost' as is_lost,
        o.probability,
        cast(o.created_at as date) as created_date,
        case
            when o.stage in ('closed_won', 'closed_lost') then coalesce(o.close_date, cast(s.closing_change_at as date))
        end as closed_date,
        case when o.stage not in ('closed_won', 'closed_lost') then o.close_date end as expected_close_date,
        {{ sm_money('o.amount', 'fx') }} as amount,
        o.amount as amount_as_delivered,
        case
            when c.customer_type = 'consumer' then 'consumer'
            when c.customer_type = 'business' and coalesce(r.n_orders_365d, 0) >= {{ var('sales_enterprise_orders_per_year', 8) }}
                then 'enterprise'
            when c.customer_type = 'business' then 'smb'
            else 'unknown'
        end as customer_segment,
        coalesce(c.customer_type, 'unknown') as customer_type,
        a.industry as customer_industry,
        c.country as customer_country,
        coalesce(s.n_stage_changes, 0) as n_stage_changes,
        coalesce(q.n_quotes, 0) as n_quotes,
        coalesce(q.n_quoting_reps, 0) as n_quoting_reps,
        q.first_quoted_at,
        q.avg_quote_discount_pct,
        o.updated_at
    from opportunities as o
    {{ sm_fx_join('fx', 'null') }}
    left join customer_bridge as b on b.source_id = o.customer_id
    left join customers as c on c.customer_key = b.customer_key
    left join recent_orders as r on r.customer_key = b.customer_key
    left join accounts as a on a.account_id = o.crm_account_id
    left join employees as e on e.employee_id = o.owner_employee_id
    left join stage_changes as s on s.opportunity_id = o.opportunity_id
    left join quotes as q on q.opportunity_id = o.opportunity_id
),

final as (
    select
        *,
        {{ sm_deal_size_band('amount') }} as deal_size_band,
        cast(amount * coalesce(probability, 0) as numeric(18, 2)) as weighted_amount,
        case when is_closed then {{ dbt.datediff('created_date', 'closed_date', 'day') }} end as sales_cycle_days,
        case when not is_closed then {{ dbt.datediff('created_date', cv_as_of_date(), 'day') }} end as open_age_days
    from joined
)

select {{ core_contract_select('final') }}
from final
