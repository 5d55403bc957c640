{#-
    The staging layer, Fivetran-style tolerant of schema drift.

    Every staging model is `{{ crmwh_stage('<source>', '<entity>') }}`. The
    declared columns come from the source's YAML (generated from the contracts:
    type, required, aliases, staged name); the delivered columns come from the
    raw relation itself. So:
      - a declared column missing from the raw table is a typed null;
      - a renamed column (contract `aliases`) is coalesced into the declared name;
      - a column nobody declared is ignored here (it stays in raw).
    Text is trimmed and blanks are null. A row whose non-blank value does not
    cast, or whose required field is blank, is not staged: crmwh_rejects_select
    puts it in quarantine, one row per failing field.
-#}

{#- Load metadata every raw row carries (ingestion.warehouse.RAW_METADATA_COLUMNS). -#}
{% macro crmwh_load_metadata_columns() -%}
    {{ return(['_source_system', '_source_file', '_record_number', '_load_id', '_night', '_loaded_at', '_row_hash']) }}
{%- endmacro %}


{#- The declared shape of a source table, read from the source node in the graph (execute time only). -#}
{% macro crmwh_source_spec(source_name, table_name) -%}
    {%- set node = graph.sources.get('source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error("crmwh: no source " ~ source_name ~ "." ~ table_name ~ " in the graph; run python -m crmwh.dbt_sources") }}
    {%- endif -%}
    {%- set table_meta = node.meta or {} -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- set meta = column.meta or {} -%}
        {%- if not meta.get('load_metadata', false) -%}
            {%- do columns.append({
                'name': column.name,
                'staged': meta.get('staged_as', column.name),
                'type': column.data_type,
                'required': meta.get('required', false),
                'aliases': meta.get('aliases', []),
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set checked = [] -%}
    {%- for column in columns -%}
        {%- if column.required or column.type != 'varchar' -%}{%- do checked.append(column) -%}{%- endif -%}
    {%- endfor -%}
    {%- set primary_key = table_meta.get('primary_key') -%}
    {%- set updated_at = table_meta.get('updated_at') -%}
    {%- set ns = namespace(updated_staged=none, match=none) -%}
    {%- for column in columns -%}
        {%- if column.name == updated_at -%}{%- set ns.updated_staged = column.staged -%}{%- endif -%}
    {%- endfor -%}
    {%- set unique_key = [] -%}
    {%- for name in table_meta.get('unique_key', [primary_key]) -%}
        {%- set ns.match = name -%}
        {%- for column in columns -%}
            {%- if column.name == name -%}{%- set ns.match = column.staged -%}{%- endif -%}
        {%- endfor -%}
        {%- do unique_key.append(ns.match) -%}
    {%- endfor -%}
    {{ return({
        'identifier': node.identifier,
        'columns': columns,
        'checked_columns': checked,
        'primary_key': primary_key,
        'updated_at': ns.updated_staged,
        'unique_key': unique_key,
    }) }}
{%- endmacro %}


{#- The delivered text of one declared column: its own column or a renamed one, trimmed, blank as null. -#}
{% macro crmwh_delivered_text(column, present) -%}
    {%- set parts = [] -%}
    {%- for name in [column.name] + column.aliases -%}
        {%- if name | lower in present -%}
            {%- do parts.append("nullif(trim(cast(" ~ adapter.quote(name) ~ " as " ~ dbt.type_string() ~ ")), '')") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if parts | length == 0 -%}
        cast(null as {{ dbt.type_string() }})
    {%- elif parts | length == 1 -%}
        {{ parts[0] }}
    {%- else -%}
        coalesce({{ parts | join(', ') }})
    {%- endif -%}
{%- endmacro %}


{#-
    Every raw row (loaded at or after `loaded_since`, a SQL timestamp, when given) with:
    load metadata, `_text__<field>` (delivered text), `<staged name>` (typed),
    `_reject__<field>` (REQUIRED_MISSING, CAST_FAILED or null) and `_is_valid`.
-#}
{% macro crmwh_typed_select(source_name, table_name, loaded_since=none) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        select * from {{ relation }}
    {%- else -%}
        {%- set spec = crmwh_source_spec(source_name, table_name) -%}
        {%- set present = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor -%}
        {%- if present | length == 0 -%}
            {{ exceptions.raise_compiler_error("crmwh: raw table " ~ relation ~ " does not exist; the loader creates it (ingestion.warehouse.ensure_contract_raw_tables)") }}
        {%- endif -%}
        with delivered as (
            select
                {%- for name in crmwh_load_metadata_columns() %}
                {{ adapter.quote(name) }},
                {%- endfor %}
                {%- for column in spec.columns %}
                {{ crmwh_delivered_text(column, present) }} as {{ adapter.quote('_text__' ~ column.name) }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ relation }}
            {%- if loaded_since is not none %}
            where "_loaded_at" >= {{ loaded_since }}
            {%- endif %}
        ),

        typed as (
            select
                delivered.*,
                {%- for column in spec.columns %}
                {{ crmwh_typed_column(adapter.quote('_text__' ~ column.name), column.type) }} as {{ adapter.quote(column.staged) }}{{ ',' if not loop.last }}
                {%- endfor %}
            from delivered
        ),

        checked as (
            select
                typed.*,
                {%- for column in spec.checked_columns %}
                case
                    {%- if column.required %}
                    when {{ adapter.quote('_text__' ~ column.name) }} is null then 'REQUIRED_MISSING'
                    {%- endif %}
                    {%- if column.type != 'varchar' %}
                    when {{ adapter.quote('_text__' ~ column.name) }} is not null and {{ adapter.quote(column.staged) }} is null then 'CAST_FAILED'
                    {%- endif %}
                end as {{ adapter.quote('_reject__' ~ column.name) }}{{ ',' if not loop.last }}
                {%- endfor %}
            from typed
        )

        select
            checked.*,
            (
                {%- for column in spec.checked_columns %}
                {{ adapter.quote('_reject__' ~ column.name) }} is null{{ ' and' if not loop.last }}
                {%- endfor %}
            ) as _is_valid
        from checked
    {%- endif -%}
{%- endmacro %}


{#-
    Raw rows a run of the staging layer must look at, as a SQL timestamp: on an
    incremental run, those loaded at or after $CRMWH_STAGING_LOADED_SINCE (or var
    staging_loaded_since). The pipeline passes the start of the last staging build made
    with the same staging definition (crmwh.pipeline.staging_state); without it, every
    raw row is looked at again, which is slower but gives the same tables. Read only
    when compiling, like the as-of date, so a new value re-parses nothing.
-#}
{% macro crmwh_staging_loaded_since() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = crmwh_var_or_env('staging_loaded_since', 'CRMWH_STAGING_LOADED_SINCE') -%}
    {%- if value == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.]+)?$', value) -%}
        {{ exceptions.raise_compiler_error("crmwh: staging_loaded_since must be a timestamp like 2026-11-02T01:00:00, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return("cast('" ~ value | replace('T', ' ') ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}


{#-
    A staging model: the valid rows, latest version per key (latest updated_at;
    ties broken by _night, _loaded_at (a corrected file re-delivered for the same
    night wins), _load_id, _record_number, all descending).

    Incremental (delete+insert on the model's unique_key): a run ranks the raw rows
    loaded since the last staging build together with the staged row of each key they
    touch, so the result equals ranking all of raw (the ordering is total, and the
    staged row is the best of everything loaded before).
-#}
{% macro crmwh_stage(source_name, table_name) -%}
    {%- set typed_sql = crmwh_typed_select(source_name, table_name, crmwh_staging_loaded_since()) -%}
    {%- if not execute -%}
        {{ typed_sql }}
    {%- else -%}
        {%- set spec = crmwh_source_spec(source_name, table_name) -%}
        {%- set columns = [] -%}
        {%- for column in spec.columns -%}{%- do columns.append(adapter.quote(column.staged)) -%}{%- endfor -%}
        {%- for name in crmwh_load_metadata_columns() -%}{%- do columns.append(adapter.quote(name)) -%}{%- endfor -%}
        {%- set order_by = [] -%}
        {%- if spec.updated_at -%}{%- do order_by.append(adapter.quote(spec.updated_at) ~ ' desc nulls last') -%}{%- endif -%}
        {%- do order_by.extend(['"_night" desc', '"_loaded_at" desc', '"_load_id" desc', '"_record_number" desc']) -%}
        with typed as (
            {{ typed_sql | indent(12) }}
        ),

        delivered_versions as (
            select {{ columns | join(', ') }}
            from typed
            where _is_valid
        ),
        {%- if is_incremental() %}

        touched_keys as (
            select distinct {% for name in spec.unique_key %}{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor %}
            from delivered_versions
        ),

        staged_versions as (
            select {% for column in columns %}staged.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
            from {{ this }} as staged
            inner join touched_keys
                on {% for name in spec.unique_key %}staged.{{ adapter.quote(name) }} = touched_keys.{{ adapter.quote(name) }}{{ ' and ' if not loop.last }}{% endfor %}
        ),

        candidates as (
            select * from delivered_versions
            union all
            select * from staged_versions
        ),
        {%- else %}

        candidates as (
            select * from delivered_versions
        ),
        {%- endif %}

        ranked as (
            select
                candidates.*,
                row_number() over (
                    partition by {% for name in spec.unique_key %}{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor %}
                    order by {{ order_by | join(', ') }}
                ) as _version_rank
            from candidates
        )

        select {{ columns | join(', ') }}
        from ranked
        where _version_rank = 1
    {%- endif -%}
{%- endmacro %}


{#- The rejected rows of one source table, one row per failing field, for quarantine.staging_rejects. -#}
{% macro crmwh_rejects_select(source_name, table_name, model_name, loaded_since=none) -%}
    {%- set typed_sql = crmwh_typed_select(source_name, table_name, loaded_since) -%}
    {%- set string = dbt.type_string() -%}
    {%- if not execute -%}
        {{ typed_sql }}
    {%- else -%}
        {%- set spec = crmwh_source_spec(source_name, table_name) -%}
        select
            cast('{{ source_name }}' as {{ string }}) as source_name,
            cast('{{ table_name }}' as {{ string }}) as entity,
            cast('raw.{{ spec.identifier }}' as {{ string }}) as raw_table,
            cast('{{ model_name }}' as {{ string }}) as staging_model,
            rejected.load_id,
            rejected.source_system,
            rejected.source_file,
            rejected.record_number,
            rejected.night,
            rejected.row_hash,
            rejected.record_key,
            rejected.field,
            rejected.expected_type,
            rejected.raw_value,
            rejected.reason_code,
            case rejected.reason_code
                when 'REQUIRED_MISSING' then 'required field ' || rejected.field || ' is missing or empty'
                else 'value ''' || rejected.raw_value || ''' of ' || rejected.field || ' is not a valid ' || rejected.expected_type
            end as reason
        from (
            select
                typed."_load_id" as load_id,
                typed."_source_system" as source_system,
                typed."_source_file" as source_file,
                typed."_record_number" as record_number,
                typed."_night" as night,
                typed."_row_hash" as row_hash,
                typed.{{ adapter.quote('_text__' ~ spec.primary_key) }} as record_key,
                fields.field,
                fields.expected_type,
                case fields.field
                    {%- for column in spec.checked_columns %}
                    when '{{ column.name }}' then typed.{{ adapter.quote('_text__' ~ column.name) }}
                    {%- endfor %}
                end as raw_value,
                case fields.field
                    {%- for column in spec.checked_columns %}
                    when '{{ column.name }}' then typed.{{ adapter.quote('_reject__' ~ column.name) }}
                    {%- endfor %}
                end as reason_code
            from (
                {{ typed_sql | indent(16) }}
            ) as typed
            cross join (
                values
                {%- for column in spec.checked_columns %}
                    (cast('{{ column.name }}' as {{ string }}), cast('{{ column.type }}' as {{ string }})){{ ',' if not loop.last }}
                {%- endfor %}
            ) as fields (field, expected_type)
            where not typed._is_valid
        ) as rejected
        where rejected.reason_code is not null
    {%- endif -%}
{%- endmacro %}
