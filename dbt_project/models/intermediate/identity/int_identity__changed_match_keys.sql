{{ config(materialized='table') }}
{#-
    The match keys whose int_identity__attribute_links a night rebuilds (the list pattern of
    macros/marts/customer_incremental.sql): every key a record staged since the links' last
    run carries now (int_identity__nodes, already updated) and every key it carried before
    (its rows in the links, ambiguous keys included, read before the links change). A
    table: computed once, then read by the links' pre-hook and the links, which empty it.
-#}
-- depends_on: {{ ref('int_identity__nodes') }}
{%- set built = mart_built_relation('int_identity__attribute_links') if execute else none -%}
{%- set changed_keys -%}
    with changed_nodes as (
        select * from {{ ref('int_identity__nodes') }}
        where {{ core_loaded_since_last_run('night', built) }}
    )

    select match_key from (
        {{ identity_match_keys('changed_nodes') | indent(8) }}
    ) as current_keys
    union
    select match_key from {{ built }} where node_id_a in (select node_id from changed_nodes)
    union
    select match_key from {{ built }} where node_id_b in (select node_id from changed_nodes)
{%- endset -%}
{{ mart_changed_list(built, 'match_key', changed_keys) }}
