{{ config(unique_key='order_key') }}
{#-
    One row per order: ERP orders with their lines summed (revenue, cost, margin),
    and bring-your-own orders of any other system (`stg_byod__orders`, amount and cost
    as delivered). Recomputed when the header or any of its lines arrives or changes.
-#}
with erp_orders as (
    select * from {{ ref('stg_erp__orders') }}
    {{ core_incremental_filter('order_id', [['stg_erp__orders', 'order_id'], ['stg_erp__order_lines', 'order_id']]) }}
),

lines as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as total_quantity,
        -- unit_price is the net price charged (contract): revenue; list = net + discount.
        sum(quantity * unit_price + coalesce(discount_amount, 0)) as gross_amount,
        sum(coalesce(discount_amount, 0)) as discount_amount,
        sum(quantity * unit_price) as revenue,
        sum(quantity * unit_cost) as cost,
        max(_night) as line_night
    from {{ ref('stg_erp__order_lines') }}
    where order_id in (select order_id from erp_orders)
    group by order_id
),

erp as (
    select
        'erp' as source_system,
        o.order_id,
        o.customer_id,
        o.quote_id,
        o.employee_id,
        {{ core_code('o.sales_channel') }} as sales_channel_code,
        o.status as order_status,
        o.currency,
        o.order_date,
        coalesce(l.line_count, 0) as line_count,
        coalesce(l.total_quantity, 0) as total_quantity,
        coalesce(l.gross_amount, 0) as gross_amount,
        coalesce(l.discount_amount, 0) as discount_amount,
        coalesce(l.revenue, 0) as revenue,
        l.cost,
        coalesce(l.revenue, 0) - l.cost as margin,
        coalesce(o.status in ('cancelled', 'returned'), false) as is_cancelled,
        'erp' as customer_source_system,
        'customers' as customer_source_entity,
        o.customer_id as customer_source_id,
        case when l.line_night > o._night then l.line_night else o._night end as source_night
    from erp_orders as o
    left join lines as l on l.order_id = o.order_id
),

byod as (
    select
        b._source_system as source_system,
        b.order_id,
        b.customer_id,
        cast(null as {{ dbt.type_string() }}) as quote_id,
        cast(null as {{ dbt.type_string() }}) as employee_id,
        cast(null as {{ dbt.type_string() }}) as sales_channel_code,
        cast(null as {{ dbt.type_string() }}) as order_status,
        b.currency,
        b.order_date,
        0 as line_count,
        0 as total_quantity,
        b.amount as gross_amount,
        0 as discount_amount,
        b.amount as revenue,
        b.cost,
        b.amount - b.cost as margin,
        false as is_cancelled,
        b._source_system as customer_source_system,
        'customers' as customer_source_entity,
        b.customer_id as customer_source_id,
        b._night as source_night
    from {{ ref('stg_byod__orders') }} as b
    {%- if is_incremental() %}
    where {{ core_loaded_since_last_run('b._night') }}
        or {{ core_key(['b._source_system', 'b.order_id']) }} in (
            select f.order_key from {{ this }} as f {{ core_customer_join('f', 'rekey_bridge') }}
            where {{ core_customer_key('rekey_bridge') }} <> f.customer_key)
    {%- endif %}
),

unioned as (
    select * from erp
    union all
    select * from byod
),

final as (
    select
        u.*,
        {{ core_key(['u.source_system', 'u.order_id']) }} as order_key,
        {{ core_key(['u.employee_id']) }} as employee_key,
        {{ core_key(['u.sales_channel_code']) }} as channel_key,
        {{ core_date_key('u.order_date') }} as order_date_key,
        {{ core_customer_key() }} as customer_key
    from unioned as u
    {{ core_customer_join('u') }}
)

select {{ core_contract_select('final') }}
from final
