{{ config(materialized='table', schema='marts') }}
{#-
    MetricFlow's daily time spine (dbt 1.9+ `time_spine` config in _semantic__models.yml): one row per
    calendar day over the same range as core.dim_date (vars core_date_start / core_date_end), without
    dim_date's unknown member, whose null day MetricFlow cannot use.
-#}
with spine as (
    {{ dbt.date_spine('day', "cast('" ~ var('core_date_start') ~ "' as date)", "cast('" ~ var('core_date_end') ~ "' as date)") }}
),

final as (
    select cast(date_day as date) as date_day
    from spine
)

select {{ core_contract_select('final') }}
from final
