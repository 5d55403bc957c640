{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['load_id', 'record_number', 'field'], on_schema_change='fail') }}
{#-
    Raw rows the staging layer could not accept, one row per failing field:
    a required field missing or empty (REQUIRED_MISSING), or a non-empty value
    that does not cast to the contract type (CAST_FAILED). Incremental like the
    staging models (the raw rows loaded since the last staging build); a change of
    a contract changes the staging definition, and the pipeline then rebuilds the
    layer in full (crmwh.pipeline.staging_state), so a contract fix re-admits rows.
-#}
{%- set loaded_since = crmwh_staging_loaded_since() %}
{%- for staged in crmwh_staged_sources() %}
{{ crmwh_rejects_select(staged.source, staged.table, staged.model, loaded_since) }}
{{ 'union all' if not loop.last }}
{%- endfor %}
