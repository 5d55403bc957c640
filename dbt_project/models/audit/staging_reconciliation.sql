{#-
    Per raw table: every raw row is accounted for exactly once.
      raw_rows = staged_rows + quarantined_rows + superseded_rows
    raw_rows: rows in the raw table (append-only; each load of a record is a row).
    quarantined_rows: distinct raw rows (load_id, record_number) in quarantine.staging_rejects.
    superseded_rows: valid rows that are not the latest version of their key
      (older versions and exact re-deliveries), counted independently of the staging model.
    staged_rows: rows in the staging model.
-#}
{%- for staged in crmwh_staged_sources() %}
{%- set spec = crmwh_source_spec(staged.source, staged.table) if execute else {'unique_key': ['1'], 'identifier': ''} %}
select
    cast('{{ staged.source }}' as {{ dbt.type_string() }}) as source_name,
    cast('{{ staged.table }}' as {{ dbt.type_string() }}) as entity,
    cast('raw.{{ spec.identifier }}' as {{ dbt.type_string() }}) as raw_table,
    cast('{{ staged.model }}' as {{ dbt.type_string() }}) as staging_model,
    raw_counts.raw_rows,
    staged_counts.staged_rows,
    quarantined_counts.quarantined_rows,
    valid_counts.valid_rows - valid_keys.valid_keys as superseded_rows,
    raw_counts.raw_rows = staged_counts.staged_rows + quarantined_counts.quarantined_rows
        + valid_counts.valid_rows - valid_keys.valid_keys as is_reconciled
from (select count(*) as raw_rows from {{ source(staged.source, staged.table) }}) as raw_counts
cross join (select count(*) as staged_rows from {{ ref(staged.model) }}) as staged_counts
cross join (
    select count(*) as quarantined_rows
    from (
        select distinct load_id, record_number
        from {{ ref('staging_rejects') }}
        where source_name = '{{ staged.source }}' and entity = '{{ staged.table }}'
    ) as rejected_rows
) as quarantined_counts
cross join (
    select count(*) as valid_rows
    from ({{ crmwh_typed_select(staged.source, staged.table) }}) as typed
    where typed._is_valid
) as valid_counts
cross join (
    select count(*) as valid_keys
    from (
        select distinct {% for name in spec.unique_key %}typed.{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor %}
        from ({{ crmwh_typed_select(staged.source, staged.table) }}) as typed
        where typed._is_valid
    ) as keys
) as valid_keys
{{ 'union all' if not loop.last }}
{%- endfor %}
