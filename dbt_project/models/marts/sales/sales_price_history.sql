{{ config(enabled=(target.type == 'duckdb')) }}
{#-
    Q3: every price a customer was quoted or charged per product (quote lines and order lines),
    in the reporting currency, with the customer's value group from marts.customer_value.
    DuckDB only, like the customer-value marts it joins.
-#}
with fx as (
    {{ sm_fx_cte() }}
),

order_lines as (
    select
        l.order_line_id as price_event_id,
        'order' as event_type,
        l.customer_key,
        l.customer_id as erp_customer_id,
        l.product_id,
        l.order_date as event_date,
        l.employee_id,
        l.order_status as event_status,
        not l.is_cancelled as is_accepted,
        l.quantity,
        -- unit_price is the net price charged; list price at sale = net + discount per unit
        {{ sm_money('l.unit_price + l.discount_amount / l.quantity', 'fx') }} as list_price,
        {{ sm_money('l.unit_price', 'fx') }} as unit_price
    from {{ ref('fct_order_lines') }} as l
    {{ sm_fx_join('fx', 'l.currency') }}
    where l.quantity > 0 and l.has_order_header
),

quote_lines as (
    select
        l.quote_line_id as price_event_id,
        'quote' as event_type,
        l.customer_key,
        l.customer_id as erp_customer_id,
        l.product_id,
        cast(l.quoted_at as date) as event_date,
        l.employee_id,
        l.quote_status as event_status,
        l.quote_status = 'accepted' as is_accepted,
        l.quantity,
        {{ sm_money('l.list_price', 'fx') }} as list_price,
        {{ sm_money('l.unit_price', 'fx') }} as unit_price
    from {{ ref('fct_quote_lines') }} as l
    {{ sm_fx_join('fx', 'l.currency') }}
    where l.has_quote_header
),

events as (
    select * from order_lines
    union all
    select * from quote_lines
),

products as (
    select product_id, product_name, category, list_price as current_list_price, currency
    from {{ ref('dim_product') }}
    where product_id is not null
),

latest_value as (
    select customer_id, as_of_date, value_group, rfm_segment, lifetime_value, is_active
    from {{ ref('customer_value') }}
    where as_of_date = (select max(as_of_date) from {{ ref('customer_value') }})
),

joined as (
    select
        e.price_event_id,
        e.event_type,
        e.customer_key as customer_id,
        e.erp_customer_id,
        e.product_id,
        p.product_name,
        p.category as product_category,
        e.event_date,
        e.employee_id,
        e.event_status,
        e.is_accepted,
        e.quantity,
        e.list_price,
        e.unit_price,
        case when e.list_price > 0 then 1.0 - cast(e.unit_price as double precision) / cast(e.list_price as double precision) end
            as discount_pct,
        cast(e.quantity * e.unit_price as numeric(18, 2)) as line_amount,
        {{ sm_money('p.current_list_price', 'pfx') }} as current_list_price,
        lag(e.unit_price) over (
            partition by e.customer_key, e.product_id, e.event_type order by e.event_date, e.price_event_id
        ) as previous_unit_price,
        row_number() over (
            partition by e.customer_key, e.product_id, e.event_type order by e.event_date, e.price_event_id
        ) as event_number,
        coalesce(v.value_group, 'no_value') as value_group,
        v.rfm_segment,
        v.lifetime_value,
        v.is_active as is_customer_active,
        v.as_of_date as value_as_of_date
    from events as e
    left join products as p on p.product_id = e.product_id
    {{ sm_fx_join('pfx', 'p.currency') }}
    left join latest_value as v on v.customer_id = e.customer_key
),

final as (
    select
        *,
        case when previous_unit_price > 0
            then cast(unit_price as double precision) / cast(previous_unit_price as double precision) - 1.0
        end as price_change_pct
    from joined
)

select {{ core_contract_select('final') }}
from final
