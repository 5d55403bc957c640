{{ config(materialized='table') }}
{#-
    Connected components of the link graph: each node with its component's lowest-ranked
    node (the anchor), by label propagation (macros/identity/identity_components.sql).
    is_converged says one more round would not change the node's label; it is tested,
    so a labelling that stopped early fails the build instead of splitting a customer.
-#}
with nodes as (
    select node_id, node_rank from {{ ref('int_identity__nodes') }}
),

linked_ranks as (
    select n_a.node_rank as rank_a, n_b.node_rank as rank_b
    from {{ ref('int_identity__links') }} as l
    inner join nodes as n_a on n_a.node_id = l.node_id_a
    inner join nodes as n_b on n_b.node_id = l.node_id_b
),

edges as (
    select rank_a as src, rank_b as dst from linked_ranks
    union
    select rank_b, rank_a from linked_ranks
),

labels as (
    {{ identity_component_labels('nodes', 'edges') | indent(4) }}
),

lowest_neighbour_labels as (
    select edges.src as node_rank, min(labels.label) as label
    from edges
    inner join labels on labels.node_rank = edges.dst
    group by edges.src
)

select
    n.node_id,
    n.node_rank,
    a.node_id as anchor_node_id,
    l.label as anchor_rank,
    l.label <= coalesce(lowest.label, l.label) as is_converged
from labels as l
inner join nodes as n on n.node_rank = l.node_rank
inner join nodes as a on a.node_rank = l.label
left join lowest_neighbour_labels as lowest on lowest.node_rank = l.node_rank
