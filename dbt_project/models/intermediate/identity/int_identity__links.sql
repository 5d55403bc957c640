{{ config(materialized='table') }}
{#-
    All links between source ids, each with its match_reason: the attribute rules
    (int_identity__attribute_links) and the sources' own references
    (int_identity__reference_links). A reference to an id that is not staged (yet) is
    dropped. node_id_a <> node_id_b; one row per (pair, reason).
-#}
with nodes as (
    select node_id from {{ ref('int_identity__nodes') }}
),

staged_reference_links as (
    select distinct l.node_id_a, l.node_id_b, l.match_reason
    from {{ ref('int_identity__reference_links') }} as l
    inner join nodes as a on a.node_id = l.node_id_a
    inner join nodes as b on b.node_id = l.node_id_b
    where l.node_id_a <> l.node_id_b
)

-- attribute links are distinct, between two nodes and never of a node with itself already
-- (int_identity__attribute_links): no check again over their millions of rows; rows without
-- a hub are the members of ambiguous keys, no link
select node_id_a, node_id_b, match_reason, match_key
from {{ ref('int_identity__attribute_links') }}
where node_id_b is not null
union all
select node_id_a, node_id_b, match_reason, cast(null as {{ dbt.type_string() }}) as match_key
from staged_reference_links
