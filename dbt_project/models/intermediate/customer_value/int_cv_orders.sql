{{ config(materialized='table') }}
{#-
    Every order with the customer-value rule that applies to it as of the run's
    as_of_date, amounts converted to the reporting currency. Rules (first match):
      after_as_of      order_date > as_of_date: excluded (it has not happened yet on that night)
      cancelled        ERP status cancelled: excluded (no revenue was realised)
      no_amount        ERP order with no lines yet: excluded (nothing to value)
      unknown_currency currency not in seeds/fx_rates.csv: excluded (cannot be converted)
    Kept orders (exclusion_reason null) are classified:
      purchase  revenue > 0: counts in purchase frequency and in the model fit
      refund    revenue < 0: nets against historical value (margin), not a purchase
      zero      revenue = 0: margin counts (e.g. a free replacement's cost), not a purchase
    A missing currency is taken as the reporting currency (currency_defaulted).
-#}
with fx as (
    select upper(currency) as currency, cast(eur_per_unit as numeric(18, 6)) as rate
    from {{ ref('fx_rates') }}
),

orders as (
    select
        o.*,
        o.currency is null as currency_defaulted,
        coalesce(o.currency, '{{ var("cv_reporting_currency", "EUR") }}') as effective_currency
    from {{ ref('int_customer_orders') }} as o
),

classified as (
    select
        o.*,
        fx.rate as fx_rate,
        case
            when o.order_date > {{ cv_as_of_date() }} then 'after_as_of'
            when o.order_status = 'cancelled' then 'cancelled'
            when o.revenue is null then 'no_amount'
            when fx.rate is null then 'unknown_currency'
        end as exclusion_reason
    from orders as o
    left join fx on fx.currency = o.effective_currency
)

select
    customer_id,
    order_key,
    order_id,
    order_date,
    source_system,
    source_customer_id,
    order_status,
    currency,
    currency_defaulted,
    n_lines,
    revenue,
    cost,
    fx_rate,
    exclusion_reason,
    case
        when exclusion_reason is not null then null
        when revenue > 0 then 'purchase'
        when revenue < 0 then 'refund'
        else 'zero'
    end as order_kind,
    {{ cv_cents('revenue * fx_rate') }} as revenue_eur,
    {{ cv_cents('coalesce(cost, 0) * fx_rate') }} as cost_eur,
    {{ cv_cents('(revenue - coalesce(cost, 0)) * fx_rate') }} as margin_eur,
    cost is null as cost_missing,
    {{ cv_as_of_date() }} as as_of_date
from classified
