{{ config(
    materialized='incremental',
    unique_key='node_id',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    pre_hook="{{ mart_forget_build_without('resolved_night') }}"
) }}
{#-
    Connected components of the link graph: each node with its component's lowest-ranked
    node (the anchor), by label propagation (macros/identity/identity_components.sql).
    is_converged says one more round would not change the node's label; it is tested,
    so a labelling that stopped early fails the build instead of splitting a customer.

    Incremental: each row keeps the node's load night and a fingerprint of its links. A
    night labels again only the components that held a node that is new, was loaded again
    (its rank may have moved) or whose links changed (an added or removed link changes the
    fingerprints of both its ends). No other link touches them: a link that did not change
    joined two nodes of one old component. The other components keep their anchor, since
    the nodes that did not change keep their order of rank. The rows a run labels carry its
    night (resolved_night): the models after it (component keys, bridge_customer_source_id,
    dim_customer) recompute only the nodes labelled since their own last run.
-#}
{%- set labels_changed_only = mart_is_incremental('resolved_night') %}
with nodes as (
    select node_id, node_rank, night from {{ ref('int_identity__nodes') }}
),

links as (
    select node_id_a, node_id_b, match_reason from {{ ref('int_identity__links') }}
),

node_links as (
    -- the reasons count: a node's bridge row lists them (bridge_customer_source_id)
    select node_id, {{ identity_fingerprint(['linked_node_id', 'match_reason']) }} as edge_fingerprint
    from (
        select node_id_a as node_id, node_id_b as linked_node_id, match_reason from links
        union all
        select node_id_b, node_id_a, match_reason from links
    ) as ends
    group by node_id
),

node_states as (
    select n.node_id, n.node_rank, n.night as node_night, l.edge_fingerprint
    from nodes as n
    left join node_links as l on l.node_id = n.node_id
),

{%- if labels_changed_only %}

changed_nodes as (
    select s.node_id
    from node_states as s
    left join {{ this }} as built on built.node_id = s.node_id
    where built.node_id is null
        or built.node_night is distinct from s.node_night
        or built.edge_fingerprint is distinct from s.edge_fingerprint
),

relabelled as (
    -- the changed nodes and every node of the components they were in
    select node_id from changed_nodes
    union
    select node_id from {{ this }}
    where anchor_node_id in (
        select built.anchor_node_id
        from {{ this }} as built
        inner join changed_nodes as c on c.node_id = built.node_id
    )
),

graph_nodes as (
    select * from node_states where node_id in (select node_id from relabelled)
),

graph_links as (
    select * from links where node_id_a in (select node_id from relabelled)
),
{%- else %}

graph_nodes as (
    select * from node_states
),

graph_links as (
    select * from links
),
{%- endif %}

linked_ranks as (
    select n_a.node_rank as rank_a, n_b.node_rank as rank_b
    from graph_links as l
    inner join graph_nodes as n_a on n_a.node_id = l.node_id_a
    inner join graph_nodes as n_b on n_b.node_id = l.node_id_b
),

edges as (
    select rank_a as src, rank_b as dst from linked_ranks
    union
    select rank_b, rank_a from linked_ranks
),

labels as (
    {{ identity_component_labels('graph_nodes', 'edges') | indent(4) }}
),

lowest_neighbour_labels as (
    select edges.src as node_rank, min(labels.label) as label
    from edges
    inner join labels on labels.node_rank = edges.dst
    group by edges.src
)

select
    n.node_id,
    a.node_id as anchor_node_id,
    l.label <= coalesce(lowest.label, l.label) as is_converged,
    n.node_night,
    n.edge_fingerprint,
    {{ identity_run_night() }} as resolved_night
from labels as l
inner join graph_nodes as n on n.node_rank = l.node_rank
inner join graph_nodes as a on a.node_rank = l.label
left join lowest_neighbour_labels as lowest on lowest.node_rank = l.node_rank
