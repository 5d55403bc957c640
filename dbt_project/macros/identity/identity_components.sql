{#-
    Connected components by label propagation: every node starts with its own rank as
    label and takes the lowest label among its neighbours until nothing changes; then
    every node carries its component's lowest rank. `nodes` has node_rank, `edges` has
    src, dst in both directions. Returns a query of (node_rank, label).
-#}
{% macro identity_component_labels(nodes, edges) -%}
    {{ return(adapter.dispatch('identity_component_labels', 'crmwh')(nodes, edges)) }}
{%- endmacro %}


{#-
    DuckDB: a recursive CTE keyed on the node (USING KEY keeps one row per node, the
    latest label). Each iteration only pushes the labels that changed in the previous
    one, and recursion stops when no label drops, so it runs as many iterations as the
    graph needs and no more (86.9 s -> 22.5 s on the scale-l graph, docs/benchmarks.md).
-#}
{% macro duckdb__identity_component_labels(nodes, edges) -%}
    with recursive propagated (node_rank, label) using key (node_rank) as (
        select
            {{ nodes }}.node_rank,
            least({{ nodes }}.node_rank, coalesce(min({{ edges }}.dst), {{ nodes }}.node_rank)) as label
        from {{ nodes }}
        left join {{ edges }} on {{ edges }}.src = {{ nodes }}.node_rank
        group by {{ nodes }}.node_rank

        union

        select
            {{ edges }}.dst as node_rank,
            min(changed.label) as label
        from propagated as changed
        inner join {{ edges }} on {{ edges }}.src = changed.node_rank
        inner join recurring.propagated as current_label on current_label.node_rank = {{ edges }}.dst
        where changed.label < current_label.label
        group by {{ edges }}.dst
    )

    select node_rank, label from propagated
{%- endmacro %}


{#-
    Elsewhere (PostgreSQL has no keyed recursion): var identity_max_iterations rounds,
    unrolled, in plain SQL. A graph that needs more rounds is caught by is_converged
    in int_identity__components.
-#}
{% macro default__identity_component_labels(nodes, edges) -%}
    {%- set rounds = var('identity_max_iterations', 24) | int -%}
    with neighbours as (
        -- a self-loop keeps a node's own label in the min()
        select src, dst from {{ edges }}
        union all
        select node_rank, node_rank from {{ nodes }}
    ),

    round_0 as (
        select node_rank, node_rank as label from {{ nodes }}
    )
    {%- for i in range(1, rounds + 1) %},

    round_{{ i }} as (
        select neighbours.src as node_rank, min(r.label) as label
        from neighbours
        inner join round_{{ i - 1 }} as r on r.node_rank = neighbours.dst
        group by neighbours.src
    )
    {%- endfor %}

    select node_rank, label from round_{{ rounds }}
{%- endmacro %}


{#-
    A fingerprint of a set of tuples (aggregate over the expressions `exprs`, one row per tuple):
    equal sets give equal values, so int_identity__components sees which nodes' links changed
    without keeping the links. Different sets collide only by chance: sums of 64-bit hashes on
    DuckDB, of 32-bit ones (hashtext) on PostgreSQL, and a record loaded again is relabelled
    whatever its links.
-#}
{% macro identity_fingerprint(exprs) -%}
    {{ return(adapter.dispatch('identity_fingerprint', 'crmwh')(exprs)) }}
{%- endmacro %}

{% macro duckdb__identity_fingerprint(exprs) -%}
    sum(hash({{ exprs | join(', ') }}))
{%- endmacro %}

{% macro default__identity_fingerprint(exprs) -%}
    {%- set parts = [] -%}
    {%- for expr in exprs -%}
        {%- do parts.append(expr) -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    sum(cast(hashtext({{ dbt.concat(parts) }}) as bigint))
{%- endmacro %}
