{{ config(materialized='view', schema='marts', enabled=target.type == 'duckdb') }}
{#-
    Each customer's row of marts.customer_value on its latest as_of_date (semantic model
    `customer_value_latest`): the value group and RFM segment metrics are sliced by "today".
    DuckDB only, like the customer-value marts it reads.
-#}
with customer_value as (
    select * from {{ ref('customer_value') }}
),

latest as (
    select max(as_of_date) as as_of_date from customer_value
),

final as (
    select
        cv.customer_id,
        cv.as_of_date,
        cv.value_group,
        cv.rfm_segment,
        cv.historical_value,
        cv.current_value,
        cv.potential_value,
        cv.lifetime_value,
        cv.p_alive,
        cv.is_active
    from customer_value as cv
    inner join latest on latest.as_of_date = cv.as_of_date
)

select {{ core_contract_select('final') }}
from final
