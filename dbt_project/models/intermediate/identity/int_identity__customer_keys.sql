{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false, on_schema_change='append_new_columns') }}
{#-
    Every customer_key ever issued, with the source id that founded it. Append-only:
    a row is never changed or deleted, and --full-refresh does not rebuild this model
    (full_refresh=false), so a key, once issued, keeps its meaning.

    Rule (see int_identity__component_keys): a component of customer records gets the
    oldest key whose founder is one of its source ids. A component without any founder
    (a new customer, or the part of a split component that lost its founder) gets a new
    key here: md5 of its anchor's node_id, the earliest-seen customer record of the
    component (crmwh_surrogate_key). Components of touchpoints only get no key (they
    map to the unknown customer, core_unknown_key()).
-#}
with components as (
    select c.node_id, c.anchor_node_id, n.record_role, n.first_seen_at
    from {{ ref('int_identity__components') }} as c
    inner join {{ ref('int_identity__nodes') }} as n on n.node_id = c.node_id
),

customer_components as (
    select anchor_node_id, first_seen_at as founder_first_seen_at
    from components
    where record_role = 'customer_record' and node_id = anchor_node_id
)

{%- if is_incremental() %}
,

founded as (
    -- components that contain the founder of an existing key
    select distinct c.anchor_node_id
    from components as c
    inner join {{ this }} as k on k.founder_node_id = c.node_id
)
{%- endif %}

select
    {{ crmwh_surrogate_key(['cc.anchor_node_id']) }} as customer_key,
    cc.anchor_node_id as founder_node_id,
    cc.founder_first_seen_at,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }}) as issued_at,
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as issued_by_invocation_id
from customer_components as cc
{%- if is_incremental() %}
left join founded as f on f.anchor_node_id = cc.anchor_node_id
where f.anchor_node_id is null
{%- endif %}
