{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}
{#- What the customer-value rules did with each source's orders on this as_of_date (int_cv_orders). -#}
select
    cast(as_of_date as date) as as_of_date,
    cast(source_system as varchar) as source_system,
    cast(count(*) as bigint) as n_orders_in,
    cast(count(*) filter (where exclusion_reason = 'after_as_of') as bigint) as n_after_as_of,
    cast(count(*) filter (where exclusion_reason = 'cancelled') as bigint) as n_cancelled,
    cast(count(*) filter (where exclusion_reason = 'no_amount') as bigint) as n_no_amount,
    cast(count(*) filter (where exclusion_reason = 'unknown_currency') as bigint) as n_unknown_currency,
    cast(count(*) filter (where exclusion_reason is null) as bigint) as n_orders_used,
    cast(count(*) filter (where order_kind = 'purchase') as bigint) as n_purchases,
    cast(count(*) filter (where order_kind = 'refund') as bigint) as n_refunds,
    cast(count(*) filter (where order_kind = 'zero') as bigint) as n_zero_amount,
    cast(count(*) filter (where exclusion_reason is null and currency_defaulted) as bigint) as n_currency_defaulted,
    cast(count(*) filter (where exclusion_reason is null and coalesce(currency, '{{ var("cv_reporting_currency", "EUR") }}')
        <> '{{ var("cv_reporting_currency", "EUR") }}') as bigint) as n_currency_converted,
    cast(count(*) filter (where exclusion_reason is null and cost_missing) as bigint) as n_cost_missing,
    cast(coalesce(sum(revenue_eur) filter (where order_kind = 'refund'), 0) as double) as refund_revenue_eur,
    cast(count(distinct customer_id) filter (where exclusion_reason is null) as bigint) as n_customers
from {{ ref('int_cv_orders') }}
group by as_of_date, source_system
