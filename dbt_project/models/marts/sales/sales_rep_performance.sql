{#-
    Q20: rep performance per owner, customer segment and deal size band, with the peers' win rate
    of the same segment and band, so a manager can pick the rep for a deal.
-#}
with opportunities as (
    select * from {{ ref('sales_opportunities') }}
),

employees as (
    select employee_id, full_name, role, region, territory_id, is_employed
    from {{ ref('dim_employee') }}
    where employee_id is not null
),

per_rep as (
    select
        owner_employee_id,
        customer_segment,
        deal_size_band,
        count(*) as n_opportunities,
        sum(case when is_closed then 1 else 0 end) as n_closed,
        sum(case when is_won then 1 else 0 end) as n_won,
        sum(case when not is_closed then 1 else 0 end) as n_open,
        sum(case when is_won then amount else 0 end) as won_amount,
        sum(case when not is_closed then amount else 0 end) as open_amount,
        avg(case when is_won then cast(sales_cycle_days as double precision) end) as avg_won_cycle_days,
        {{ crmwh_exact_avg('avg_quote_discount_pct') }} as avg_quote_discount_pct
    from opportunities
    group by owner_employee_id, customer_segment, deal_size_band
),

peers as (
    select
        customer_segment,
        deal_size_band,
        {{ sm_ratio('sum(case when is_won then 1 else 0 end)', 'sum(case when is_closed then 1 else 0 end)') }} as peer_win_rate
    from opportunities
    group by customer_segment, deal_size_band
),

rated as (
    select
        r.*,
        e.full_name as rep_name,
        e.role as rep_role,
        e.region as rep_region,
        coalesce(e.is_employed, false) as is_rep_employed,
        {{ sm_ratio('r.n_won', 'r.n_closed') }} as win_rate,
        {{ sm_ratio('r.won_amount', 'r.n_won') }} as avg_won_amount,
        p.peer_win_rate
    from per_rep as r
    left join employees as e on e.employee_id = r.owner_employee_id
    left join peers as p on p.customer_segment = r.customer_segment and p.deal_size_band = r.deal_size_band
),

final as (
    select
        *,
        win_rate - peer_win_rate as win_rate_vs_peers,
        rank() over (
            partition by customer_segment, deal_size_band
            order by case when is_rep_employed and n_closed >= {{ var('sales_rep_min_closed', 3) }} then 0 else 1 end,
                win_rate desc nulls last, won_amount desc
        ) as rank_in_segment_band
    from rated
)

select {{ core_contract_select('final') }}
from final
