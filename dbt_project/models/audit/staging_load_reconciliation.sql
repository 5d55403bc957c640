{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['raw_table', 'load_id'], on_schema_change='fail') }}
{#-
    Per raw table and load: how many of its rows type cleanly (valid) and how many
    of those have no row of their key in the staging model (must be none). Typed
    independently of the staging model, by the same contract. Incremental like the
    staging layer: a night counts only the loads it stages; audit.staging_reconciliation
    adds them up per table.
-#}
{%- set loaded_since = crmwh_staging_loaded_since() %}
{%- for staged in crmwh_staged_sources() %}
{%- set spec = crmwh_source_spec(staged.source, staged.table) if execute else {'unique_key': ['1'], 'identifier': ''} %}
select
    cast('raw.{{ spec.identifier }}' as {{ dbt.type_string() }}) as raw_table,
    typed."_load_id" as load_id,
    count(*) as raw_rows,
    sum(case when typed._is_valid then 1 else 0 end) as valid_rows,
    sum(case when typed._is_valid and staged.{{ adapter.quote(spec.unique_key[0]) }} is null then 1 else 0 end)
        as unstaged_valid_rows
from ({{ crmwh_typed_select(staged.source, staged.table, loaded_since) }}) as typed
left join {{ ref(staged.model) }} as staged
    on {% for name in spec.unique_key %}staged.{{ adapter.quote(name) }} = typed.{{ adapter.quote(name) }}{{ ' and ' if not loop.last }}{% endfor %}
group by typed."_load_id"
{{ 'union all' if not loop.last }}
{%- endfor %}
