{#-
    Customer-scoped incremental marts: a night rebuilds every row of the customers whose
    inputs changed since the mart's last run and leaves the other customers' rows alone.

    Such a mart is materialized incremental (delete+insert on customer_id) and carries
    `source_night` (its core facts'; the maximum is the mart's watermark, as for the facts:
    core_loaded_since_last_run). A model `int_<mart>__changed_customers` (a table, body
    mart_changed_list of mart_changed_customers) lists the customers to rebuild, computed once,
    before the mart changes: the mart's pre-hook (mart_forget_changed_rows) deletes their rows, which
    also drops customers left with no row (a key retired by a merge, a customer whose only
    event moved to another), the mart selects their rows again, and its post-hook
    (mart_clear_changed_rows) empties the list: a list is used once, and a re-run of the night
    leaves the same (empty) list behind.

    A customer changed when:
    - a row of one of the mart's facts was loaded since the mart's last run (its source_night):
      the customer it names now and, through the mart's stored rows, the one it named before
      (a corrected record can move an order or a ticket to another customer);
    - one of its source ids changed key (int_identity__key_assignments, new and previous key:
      a merge or split moves fact rows between customers without a new load);
    - a dimension member named on one of its rows has a new staged version (an employee's
      role or department), when the mart shows that member's attributes.
-#}

{#- The mart's relation if it exists and already carries `required_column` (its watermark), else none. -#}
{% macro mart_built_relation(mart, required_column='source_night') -%}
    {%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', mart) | first -%}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- if relation is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {#- a table built before it was incremental lacks the column: built whole once (mart_forget_build_without) -#}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{- return(relation if required_column in columns else none) -}}
{%- endmacro %}

{#- Whether this run of a customer-scoped mart adds to what it holds (else it is built whole). -#}
{% macro mart_is_incremental(required_column='source_night') -%}
    {{- return(is_incremental() and mart_built_relation(model.name, required_column) is not none) -}}
{%- endmacro %}

{#-
    Body of a mart's list of rows to rebuild (int_<mart>__changed_...): `changed_sql` selects the
    keys (`key_column`) when the mart is built (`built`: mart_built_relation), and every row
    carries what the list saw of the mart (mart_row_count, mart_watermark); one more row without
    a key carries it too, so a list with nothing to rebuild still says for which state it holds.
    Without `built` (the mart is built whole) that row alone, with nulls.
-#}
{% macro mart_changed_list(built, key_column, changed_sql) -%}
    {%- if built is none %}
    select
        cast(null as {{ dbt.type_string() }}) as {{ key_column }},
        cast(null as {{ dbt.type_bigint() }}) as mart_row_count,
        cast(null as date) as mart_watermark
    {%- else %}
    with seen as (
        -- the mart's pre-hook refuses a list computed before the mart last changed
        select count(*) as mart_row_count, {{ core_watermark(built) }} as mart_watermark from {{ built }}
    )

    select changed.{{ key_column }}, seen.mart_row_count, seen.mart_watermark
    from ({{ changed_sql }}
    ) as changed
    cross join seen
    union all
    select null, seen.mart_row_count, seen.mart_watermark from seen
    {%- endif %}
{%- endmacro %}

{#-
    Customer ids (as `customer_id`) changed since `built` (a customer-scoped mart) last ran.
    `facts`: [fact, row id expression over the fact] lists: facts with customer_key and
    source_night, and the expression giving the id the mart stores (column `row_id_column`)
    for a fact row, to find the customer a changed row was stored under (none: not looked up);
    `dimension_facts`: [fact, id column, staging model, id column] lists: the fact's rows whose
    dimension member has a version loaded since.
-#}
{% macro mart_changed_customers(built, facts, row_id_column, dimension_facts=[]) -%}
    {#- the refs outside the branch, so dbt sees the dependencies at parse time #}
    -- depends_on: {{ ref('int_identity__key_assignments') }}
    {%- for fact, row_id in facts %}
    -- depends_on: {{ ref(fact) }}
    {%- endfor %}
    {%- for fact, fact_column, staging, staging_column in dimension_facts %}
    -- depends_on: {{ ref(staging) }}
    {%- endfor %}
    {%- if built is not none %}
    {%- for fact, row_id in facts %}
    select customer_key as customer_id from {{ ref(fact) }}
    where {{ core_loaded_since_last_run('source_night', built) }}
    union
    {%- endfor %}
    {%- set stored_rows = facts | selectattr(1) | list %}
    {%- if stored_rows %}
    select stored.customer_id from {{ built }} as stored
    where stored.{{ row_id_column }} in (
        {%- for fact, row_id in stored_rows %}
        select {{ row_id }} from {{ ref(fact) }} where {{ core_loaded_since_last_run('source_night', built) }}
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    )
    union
    {%- endif %}
    select customer_key from {{ ref('int_identity__key_assignments') }}
    where {{ core_loaded_since_last_run('assigned_night', built) }}
    union
    select previous_customer_key from {{ ref('int_identity__key_assignments') }}
    where {{ core_loaded_since_last_run('assigned_night', built) }} and previous_customer_key is not null
    {%- for fact, fact_column, staging, staging_column in dimension_facts %}
    union
    select customer_key from {{ ref(fact) }}
    where {{ fact_column }} in (
        select {{ staging_column }} from {{ ref(staging) }} where {{ core_loaded_since_last_run('_night', built) }}
    )
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- Post-hook of such a mart: its list has been used. -#}
{% macro mart_clear_changed_rows(changed_model) -%}
    delete from {{ ref(changed_model) }}
{%- endmacro %}

{#-
    Pre-hook of an incremental mart with a list of rows to rebuild (`changed_model`, keys in
    `key_column`): delete those rows before the run selects them again (a customer left with no
    row stays deleted). A list computed before the mart last changed (the mart run alone,
    without its list) would miss rows for good, since the mart's watermark moves on: that run
    fails instead. A mart built before it had the watermark column is emptied (mart_forget_build_without).
-#}
{% macro mart_forget_changed_rows(changed_model, key_column='customer_id') -%}
    {%- if execute and mart_is_incremental() -%}
        {%- set seen = run_query("select max(mart_row_count), max(mart_watermark) from " ~ ref(changed_model)).rows[0] -%}
        {%- set now = run_query("select count(*), " ~ core_watermark() ~ " from " ~ this).rows[0] -%}
        {%- if seen[0] is not none and (seen[0] | int != now[0] | int or seen[1] | string != now[1] | string) -%}
            {{ exceptions.raise_compiler_error(
                changed_model ~ " was computed before " ~ this ~ " last changed (it saw " ~ seen[0] ~ " rows up to "
                ~ seen[1] ~ ", the mart holds " ~ now[0] ~ " up to " ~ now[1] ~ "): build both, e.g. dbt build --select "
                ~ changed_model ~ " " ~ model.name) }}
        {%- endif -%}
    delete from {{ this }}
    where {{ key_column }} in (select {{ key_column }} from {{ ref(changed_model) }} where {{ key_column }} is not null)
    {%- else -%}
    {{ mart_forget_build_without() }}
    {%- endif -%}
{%- endmacro %}

{#-
    Pre-hook: an incremental table built before it had `required_column` (its watermark or what
    it compares) is built whole (mart_is_incremental is false): empty it first, since
    delete+insert alone would keep the rows of keys the whole build no longer selects.
-#}
{% macro mart_forget_build_without(required_column='source_night') -%}
    {%- if execute and is_incremental() and not mart_is_incremental(required_column) -%}
    delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#-
    config() of an incremental mart with a list of rows to rebuild (`changed_model`, keys in
    `key_column`, the mart's unique key): delete+insert, the list's pre- and post-hook.
-#}
{% macro mart_incremental_config(changed_model, key_column) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=key_column,
        on_schema_change='append_new_columns',
        pre_hook="{{ mart_forget_changed_rows('" ~ changed_model ~ "', '" ~ key_column ~ "') }}",
        post_hook="{{ mart_clear_changed_rows('" ~ changed_model ~ "') }}",
    ) }}
{%- endmacro %}
