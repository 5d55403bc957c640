{{ config(materialized='table') }}
{#-
    Connected components of the link graph by label propagation: every node starts
    with its own rank as label and, in each round, takes the lowest label among itself
    and its neighbours. After as many rounds as the longest shortest path of a component,
    every node carries the component's lowest rank, i.e. its anchor. The rounds are
    unrolled (var identity_max_iterations, default 24): plain SQL, the same on DuckDB and
    PostgreSQL, no recursion. is_converged compares with one more round and is tested,
    so a graph that needs more rounds fails the build instead of splitting a customer.
-#}
{%- set rounds = var('identity_max_iterations', 24) | int %}
with nodes as (
    select node_id, node_rank from {{ ref('int_identity__nodes') }}
),

edges as (
    -- both directions, plus a self-loop so a node keeps its own label in the min()
    select distinct n_a.node_rank as src, n_b.node_rank as dst
    from {{ ref('int_identity__links') }} as l
    inner join nodes as n_a on n_a.node_id = l.node_id_a
    inner join nodes as n_b on n_b.node_id = l.node_id_b
    union
    select n_b.node_rank, n_a.node_rank
    from {{ ref('int_identity__links') }} as l
    inner join nodes as n_a on n_a.node_id = l.node_id_a
    inner join nodes as n_b on n_b.node_id = l.node_id_b
    union
    select node_rank, node_rank from nodes
),

round_0 as (
    select node_rank, node_rank as label from nodes
),
{%- for i in range(1, rounds + 2) %}

round_{{ i }} as (
    select e.src as node_rank, min(r.label) as label
    from edges as e
    inner join round_{{ i - 1 }} as r on r.node_rank = e.dst
    group by e.src
),
{%- endfor %}

labels as (
    select
        f.node_rank,
        f.label,
        f.label = x.label as is_converged
    from round_{{ rounds }} as f
    inner join round_{{ rounds + 1 }} as x on x.node_rank = f.node_rank
)

select
    n.node_id,
    n.node_rank,
    a.node_id as anchor_node_id,
    l.label as anchor_rank,
    l.is_converged
from labels as l
inner join nodes as n on n.node_rank = l.node_rank
inner join nodes as a on a.node_rank = l.label
