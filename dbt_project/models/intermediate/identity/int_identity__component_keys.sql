{#-
    The customer_key of every source id now: its component's oldest key (earliest
    issued_at, then earliest founder_first_seen_at, then customer_key) whose founder is
    in the component. When two components
    merge, the older key survives and the younger one is retired (int_identity__key_lineage);
    source ids of a component without customer records map to the unknown customer
    (core_unknown_key(), the unknown member of every core dimension).
-#}
with components as (
    select * from {{ ref('int_identity__components') }}
),

keys as (
    select * from {{ ref('int_identity__customer_keys') }}
),

candidates as (
    select
        c.anchor_node_id,
        k.customer_key,
        row_number() over (partition by c.anchor_node_id order by k.issued_at, k.founder_first_seen_at, k.customer_key) as key_order
    from components as c
    inner join keys as k on k.founder_node_id = c.node_id
),

component_key as (
    select anchor_node_id, customer_key
    from candidates
    where key_order = 1
)

select
    c.node_id,
    c.anchor_node_id,
    coalesce(k.customer_key, {{ core_unknown_key() }}) as customer_key,
    c.resolved_night
from components as c
left join component_key as k on k.anchor_node_id = c.anchor_node_id
