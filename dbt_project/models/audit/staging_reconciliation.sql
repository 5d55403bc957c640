{#-
    Per raw table: every raw row is accounted for exactly once.
      raw_rows = staged_rows + quarantined_rows + superseded_rows
    raw_rows: rows in the raw table (append-only; each load of a record is a row).
    quarantined_rows: distinct raw rows (load_id, record_number) in quarantine.staging_rejects.
    superseded_rows: valid rows (typed by audit.staging_load_reconciliation, independently
      of the staging model) that are not the latest version of their key.
    staged_rows: rows in the staging model.
    Reconciled when, besides that sum: the loads counted cover every raw row (no load
    was skipped), every raw row is valid or quarantined, and every valid row's key is staged.
-#}
{%- for staged in crmwh_staged_sources() %}
{%- set spec = crmwh_source_spec(staged.source, staged.table) if execute else {'identifier': ''} %}
select
    cast('{{ staged.source }}' as {{ dbt.type_string() }}) as source_name,
    cast('{{ staged.table }}' as {{ dbt.type_string() }}) as entity,
    cast('raw.{{ spec.identifier }}' as {{ dbt.type_string() }}) as raw_table,
    cast('{{ staged.model }}' as {{ dbt.type_string() }}) as staging_model,
    raw_counts.raw_rows,
    staged_counts.staged_rows,
    quarantined_counts.quarantined_rows,
    load_counts.valid_rows - staged_counts.staged_rows as superseded_rows,
    load_counts.unstaged_valid_rows,
    (
        raw_counts.raw_rows = load_counts.raw_rows
        and raw_counts.raw_rows = quarantined_counts.quarantined_rows + load_counts.valid_rows
        and load_counts.valid_rows >= staged_counts.staged_rows
        and load_counts.unstaged_valid_rows = 0
    ) as is_reconciled
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
    select
        coalesce(sum(raw_rows), 0) as raw_rows,
        coalesce(sum(valid_rows), 0) as valid_rows,
        coalesce(sum(unstaged_valid_rows), 0) as unstaged_valid_rows
    from {{ ref('staging_load_reconciliation') }}
    where raw_table = 'raw.{{ spec.identifier }}'
) as load_counts
{{ 'union all' if not loop.last }}
{%- endfor %}
