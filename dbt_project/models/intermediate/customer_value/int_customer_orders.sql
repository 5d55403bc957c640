{#-
    One row per order of every source that sells, in the order's own currency.
    The only place that knows where orders come from. customer_id is the
    resolved customer (core.dim_customer.customer_key, via
    core.bridge_customer_source_id); source_system + source_customer_id keep
    the source's own id for traceability.
-#}
with erp_lines as (
    select
        order_id,
        count(*) as n_lines,
        -- unit_price is the net price charged (contract); discount_amount is informational.
        sum(quantity * unit_price) as revenue,
        sum(quantity * unit_cost) as cost,
        count(*) - count(unit_cost) as n_lines_without_cost
    from {{ ref('stg_erp__order_lines') }}
    group by order_id
),

erp as (
    select
        'erp' as source_system,
        o.customer_id as source_customer_id,
        o.order_id,
        o.order_date,
        o.status as order_status,
        cast(l.revenue as numeric(18, 2)) as revenue,
        cast(case when l.n_lines_without_cost = 0 then l.cost end as numeric(18, 2)) as cost,
        upper(o.currency) as currency,
        coalesce(l.n_lines, 0) as n_lines
    from {{ ref('stg_erp__orders') }} as o
    left join erp_lines as l on l.order_id = o.order_id
),

byod as (
    select
        _source_system as source_system,
        customer_id as source_customer_id,
        order_id,
        order_date,
        cast(null as varchar) as order_status,
        cast(amount as numeric(18, 2)) as revenue,
        cast(cost as numeric(18, 2)) as cost,
        upper(currency) as currency,
        0 as n_lines
    from {{ ref('stg_byod__orders') }}
),

orders as (
    select * from erp
    union all
    select * from byod
),

customer_key as (
    -- The resolved customer (core.dim_customer.customer_key) of each source's customer id:
    -- ERP orders by ('erp', 'customers', customer_id), bring-your-own orders by
    -- (<system>, 'customers', customer_id); the identity models register both.
    -- An id the bridge does not know (it should not happen) keeps '<system>:<id>' so no order is lost.
    select
        ids.source_system,
        ids.source_customer_id,
        coalesce(b.customer_key, ids.source_system || ':' || ids.source_customer_id) as customer_id
    from (select distinct source_system, source_customer_id from orders) as ids
    left join {{ ref('bridge_customer_source_id') }} as b
        on b.source_system = ids.source_system
        and b.source_entity = 'customers'
        and b.source_id = ids.source_customer_id
)

select
    k.customer_id,
    o.source_system || ':' || o.order_id as order_key,
    o.order_id,
    o.order_date,
    o.revenue,
    o.cost,
    o.revenue - coalesce(o.cost, 0) as margin,
    o.currency,
    o.source_system,
    o.source_customer_id,
    o.order_status,
    o.n_lines
from orders as o
inner join customer_key as k
    on k.source_system = o.source_system and k.source_customer_id = o.source_customer_id
