{{ config(materialized='view', schema='marts') }}
{#-
    What the revenue and margin metrics aggregate (semantic model `sales_lines`): one row per ERP order
    line, plus one row per order without lines (bring-your-own orders; ERP headers whose lines have not
    arrived, at zero), so one sum gives the same revenue and order count as core.fct_orders and can still
    be sliced by product category. Amounts are converted to the
    reporting currency (var cv_reporting_currency, rates in seeds/fx_rates.csv; a missing currency is taken
    as the reporting currency, an unknown one leaves the amounts null), the rule marts.customer_value uses.
    ERP lines whose order header has not arrived yet are left out: they count the night their header lands
    (core.fct_orders has no row for them either).
-#}
with fx as (
    select upper(currency) as currency, eur_per_unit as fx_rate
    from {{ ref('fx_rates') }}
),

erp_lines as (
    select
        l.order_line_key as sales_line_key,
        l.order_key,
        l.customer_key,
        l.product_key,
        'erp' as source_system,
        l.order_id,
        l.product_id,
        p.category as product_category,
        l.order_date,
        l.order_status,
        l.sales_channel_code,
        l.currency,
        l.quantity,
        l.revenue,
        l.cost,
        l.margin
    from {{ ref('fct_order_lines') }} as l
    left join {{ ref('dim_product') }} as p on p.product_key = l.product_key
    where l.has_order_header
),

orders_without_lines as (
    select
        o.order_key as sales_line_key,
        o.order_key,
        o.customer_key,
        cast(null as {{ dbt.type_string() }}) as product_key,
        o.source_system,
        o.order_id,
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(null as {{ dbt.type_string() }}) as product_category,
        o.order_date,
        o.order_status,
        o.sales_channel_code,
        o.currency,
        o.total_quantity as quantity,
        o.revenue,
        o.cost,
        o.margin
    from {{ ref('fct_orders') }} as o
    where o.source_system <> 'erp' or o.line_count = 0
),

unioned as (
    select * from erp_lines
    union all
    select * from orders_without_lines
),

final as (
    select
        u.sales_line_key,
        u.order_key,
        u.customer_key,
        u.product_key,
        u.source_system,
        u.order_id,
        u.product_id,
        coalesce(u.product_category, 'unknown') as product_category,
        u.order_date,
        u.order_status,
        coalesce(u.order_status = 'cancelled', false) as is_cancelled,
        u.sales_channel_code,
        u.currency,
        fx.fx_rate,
        u.quantity,
        u.revenue * fx.fx_rate as revenue,
        u.cost * fx.fx_rate as cost,
        u.margin * fx.fx_rate as margin
    from unioned as u
    left join fx on fx.currency = upper(coalesce(u.currency, '{{ var("cv_reporting_currency", "EUR") }}'))
)

select {{ core_contract_select('final') }}
from final
