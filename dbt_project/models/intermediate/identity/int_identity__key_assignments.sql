{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false, on_schema_change='append_new_columns') }}
{#-
    Log of which customer_key each source id was assigned, one row per change:
    a row is appended the first time a source id is seen and whenever its key changes
    (a merge retired its key, or a split moved it). Append-only and kept across
    --full-refresh. The latest row per source id gives bridge_customer_source_id.matched_at;
    assigned_night tells customer-scoped incremental marts which customers changed key.
-#}
with current_keys as (
    select node_id, customer_key
    from {{ ref('int_identity__component_keys') }}
    {%- if is_incremental() %}
    -- a key changes only with its component's labels: the nodes labelled since the last change logged
    where {{ core_loaded_since_last_run('resolved_night', watermark_column='assigned_night') }}
    {%- endif %}
)

{%- if is_incremental() %}
,

latest as (
    select node_id, customer_key
    from (
        select
            node_id,
            customer_key,
            row_number() over (partition by node_id order by matched_at desc, assignment_seq desc) as recency
        from {{ this }}
        where node_id in (select node_id from current_keys)
    ) as a
    where recency = 1
)
{%- endif %}

select
    c.node_id,
    c.customer_key,
    {%- if is_incremental() %}
    l.customer_key as previous_customer_key,
    {%- else %}
    cast(null as {{ dbt.type_string() }}) as previous_customer_key,
    {%- endif %}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }}) as matched_at,
    -- the night the run built (latest load night without one): what customer-scoped marts compare with their watermark
    {{ identity_run_night() }} as assigned_night,
    {%- if is_incremental() %}
    (select coalesce(max(assignment_seq), 0) from {{ this }}) + 1 as assignment_seq
    {%- else %}
    cast(1 as {{ dbt.type_bigint() }}) as assignment_seq
    {%- endif %}
from current_keys as c
{%- if is_incremental() %}
left join latest as l on l.node_id = c.node_id
where l.node_id is null or l.customer_key <> c.customer_key
{%- endif %}
