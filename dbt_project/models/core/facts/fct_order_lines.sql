{{ config(unique_key='order_line_id') }}
{#-
    One row per ERP order line: revenue (quantity x unit price: the ERP's unit price is the
    net price charged, after discount; discount_amount says what the discount took off list), cost
    (quantity x unit cost) and margin, with the order header's customer, rep, channel
    and date. A line whose order header has not arrived yet keeps the unknown members
    and is recomputed the night the header lands.
-#}
with lines as (
    select * from {{ ref('stg_erp__order_lines') }}
    {{ core_incremental_filter('order_id', [['stg_erp__orders', 'order_id'], ['stg_erp__order_lines', 'order_id']]) }}
),

orders as (
    select * from {{ ref('stg_erp__orders') }}
),

joined as (
    select
        l.order_line_id,
        l.order_id,
        l.product_id,
        o.customer_id,
        o.employee_id,
        {{ core_code('o.sales_channel') }} as sales_channel_code,
        o.status as order_status,
        o.currency,
        o.order_date,
        l.quantity,
        l.unit_price,
        l.unit_cost,
        coalesce(l.discount_amount, 0) as discount_amount,
        l.quantity * l.unit_price + coalesce(l.discount_amount, 0) as gross_amount,
        l.quantity * l.unit_price as revenue,
        l.quantity * l.unit_cost as cost,
        l.quantity * l.unit_price - l.quantity * l.unit_cost as margin,
        coalesce(o.status in ('cancelled', 'returned'), false) as is_cancelled,
        o.order_id is not null as has_order_header,
        'erp' as customer_source_system,
        'customers' as customer_source_entity,
        o.customer_id as customer_source_id,
        case when o._night > l._night then o._night else l._night end as source_night
    from lines as l
    left join orders as o on o.order_id = l.order_id
),

final as (
    select
        j.*,
        {{ core_key(['j.order_line_id']) }} as order_line_key,
        {{ core_key(["'erp'", 'j.order_id']) }} as order_key,
        {{ core_key(['j.product_id']) }} as product_key,
        {{ core_key(['j.employee_id']) }} as employee_key,
        {{ core_key(['j.sales_channel_code']) }} as channel_key,
        {{ core_date_key('j.order_date') }} as order_date_key,
        {{ core_customer_key() }} as customer_key
    from joined as j
    {{ core_customer_join('j') }}
)

select {{ core_contract_select('final') }}
from final
