{#- Pipeline and win rates per month the opportunities were created, customer segment and deal size band. -#}
with opportunities as (
    select * from {{ ref('sales_opportunities') }}
),

grouped as (
    select
        cast({{ dbt.date_trunc('month', 'created_date') }} as date) as created_month,
        customer_segment,
        deal_size_band,
        count(*) as n_opportunities,
        sum(case when not is_closed then 1 else 0 end) as n_open,
        sum(case when is_closed then 1 else 0 end) as n_closed,
        sum(case when is_won then 1 else 0 end) as n_won,
        sum(case when is_lost then 1 else 0 end) as n_lost,
        sum(amount) as total_amount,
        sum(case when not is_closed then amount else 0 end) as open_amount,
        sum(case when not is_closed then weighted_amount else 0 end) as weighted_open_amount,
        sum(case when is_won then amount else 0 end) as won_amount,
        avg(case when is_won then cast(sales_cycle_days as double precision) end) as avg_won_cycle_days
    from opportunities
    group by 1, 2, 3
),

final as (
    select
        *,
        {{ sm_ratio('n_won', 'n_closed') }} as win_rate,
        {{ sm_ratio('won_amount', 'n_won') }} as avg_won_amount
    from grouped
)

select {{ core_contract_select('final') }}
from final
