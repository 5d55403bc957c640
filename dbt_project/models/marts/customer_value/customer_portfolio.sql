{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}
{#-
    Customer portfolio (DOMAIN step 4) per as_of_date: for each value_group and each rfm_segment,
    size, share of customers and of value, and the change against the previous as_of_date in
    marts.customer_value (null on the first night): size then, and customers who moved in / out.
-#}
with nights as (
    select {{ cv_as_of_date() }} as as_of_date,
        (select max(as_of_date) from {{ ref('customer_value') }} where as_of_date < {{ cv_as_of_date() }}) as previous_date
),

both_nights as (
    select c.*, 'value_group' as dimension, c.value_group as grp
    from {{ ref('customer_value') }} as c, nights as n
    where c.as_of_date in (n.as_of_date, n.previous_date)
    union all
    select c.*, 'rfm_segment' as dimension, c.rfm_segment as grp
    from {{ ref('customer_value') }} as c, nights as n
    where c.as_of_date in (n.as_of_date, n.previous_date)
),

now_rows as (
    select r.* from both_nights as r, nights as n where r.as_of_date = n.as_of_date
),

prev_rows as (
    select r.* from both_nights as r, nights as n where r.as_of_date = n.previous_date
),

now_groups as (
    select
        dimension,
        grp,
        count(*) as n_customers,
        sum({{ cv_exact('historical_value') }}) as historical_value,
        sum({{ cv_exact('current_value') }}) as current_value,
        sum({{ cv_exact('potential_value') }}) as potential_value,
        sum({{ cv_exact('lifetime_value') }}) as lifetime_value,
        sum({{ cv_exact('p_alive', 12) }}) / nullif(count(p_alive), 0) as avg_p_alive
    from now_rows
    group by dimension, grp
),

prev_groups as (
    select dimension, grp, count(*) as n_customers, sum({{ cv_exact('lifetime_value') }}) as lifetime_value
    from prev_rows
    group by dimension, grp
),

moves as (
    select
        n.dimension,
        n.grp,
        count(*) filter (where p.grp is not null and p.grp <> n.grp) as n_moved_in
    from now_rows as n
    left join prev_rows as p on p.customer_id = n.customer_id and p.dimension = n.dimension
    group by n.dimension, n.grp
),

all_groups as (
    -- a group present on either night: one that emptied shows n_customers 0 and its moves out
    select dimension, grp from now_groups
    union
    select dimension, grp from prev_groups
),

moves_out as (
    select
        p.dimension,
        p.grp,
        count(*) filter (where n.grp is not null and n.grp <> p.grp) as n_moved_out
    from prev_rows as p
    left join now_rows as n on n.customer_id = p.customer_id and n.dimension = p.dimension
    group by p.dimension, p.grp
)

select
    cast(ni.as_of_date as date) as as_of_date,
    cast(a.dimension as varchar) as dimension,
    cast(a.grp as varchar) as group_name,
    cast(coalesce(g.n_customers, 0) as bigint) as n_customers,
    cast(coalesce(g.n_customers, 0) * 1.0 / nullif(sum(coalesce(g.n_customers, 0)) over (partition by a.dimension), 0)
        as double) as customer_share,
    cast(coalesce(g.historical_value, 0) as double) as historical_value,
    cast(coalesce(g.current_value, 0) as double) as current_value,
    cast(coalesce(g.potential_value, 0) as double) as potential_value,
    cast(coalesce(g.lifetime_value, 0) as double) as lifetime_value,
    cast(coalesce(g.lifetime_value, 0) / nullif(sum(coalesce(g.lifetime_value, 0)) over (partition by a.dimension), 0)
        as double) as value_share,
    cast(g.avg_p_alive as double) as avg_p_alive,
    cast(ni.previous_date as date) as previous_as_of_date,
    cast(case when ni.previous_date is not null then coalesce(pg.n_customers, 0) end as bigint) as previous_n_customers,
    cast(coalesce(g.n_customers, 0) - case when ni.previous_date is not null then coalesce(pg.n_customers, 0) end
        as bigint) as n_customers_change,
    cast(case when ni.previous_date is not null then coalesce(pg.lifetime_value, 0) end as double)
        as previous_lifetime_value,
    cast(case when ni.previous_date is not null then coalesce(m.n_moved_in, 0) end as bigint) as n_moved_in,
    cast(case when ni.previous_date is not null then coalesce(mo.n_moved_out, 0) end as bigint) as n_moved_out
from all_groups as a
cross join nights as ni
left join now_groups as g on g.dimension = a.dimension and g.grp = a.grp
left join prev_groups as pg on pg.dimension = a.dimension and pg.grp = a.grp
left join moves as m on m.dimension = a.dimension and m.grp = a.grp
left join moves_out as mo on mo.dimension = a.dimension and mo.grp = a.grp
