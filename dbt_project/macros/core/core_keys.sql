{#-
    Keys and helpers of the `core` layer (conformed dimensions and facts).

    Every dimension key is `crmwh_surrogate_key([natural id])`, so a fact computes
    its foreign key from the natural id alone, without a lookup that could change
    when the dimension is rebuilt later (late-arriving dimension rows then still
    match). A null natural id hashes to the "unknown" member's key, which every
    dimension carries; ids a fact references but the master never delivered are
    "inferred" members of the dimension (Kimball), so facts never lose rows.
-#}

{#- A dimension key from natural-id expressions, typed as text on every adapter. -#}
{% macro core_key(fields) -%}
    cast({{ crmwh_surrogate_key(fields) }} as {{ dbt.type_string() }})
{%- endmacro %}

{#- The key of the "unknown" member (a null natural id). -#}
{% macro core_unknown_key() -%}
    {{ core_key(['null']) }}
{%- endmacro %}

{#- A conformed code (department, channel): trimmed, lower case, null when blank. -#}
{% macro core_code(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{#- Integer yyyymmdd key of dim_date from a date or timestamp expression; -1 (unknown) when null. -#}
{% macro core_date_key(expr) -%}
    coalesce(cast(
        extract(year from {{ expr }}) * 10000 + extract(month from {{ expr }}) * 100 + extract(day from {{ expr }})
        as integer), -1)
{%- endmacro %}

{#- Minutes between two timestamps (fractional), null when either is null. -#}
{% macro core_minutes_between(start_expr, end_expr) -%}
    cast({{ dbt.datediff(start_expr, end_expr, 'second') }} as double precision) / 60.0
{%- endmacro %}

{#-
    The final select of a contracted core model: every column of its YAML, in YAML
    order, cast to its declared type, so the same SQL satisfies the enforced
    contract on DuckDB and PostgreSQL (md5() is text there, numbers widen, ...).
-#}
{% macro core_contract_select(relation_alias) -%}
    {%- set node = model -%}
    {%- set columns = node.columns.values() | list -%}
    {%- if model.resource_type == 'unit_test' -%}
        {#- a dbt unit test renders the model with the test as `model` (no columns, no graph):
            select everything, the test compares the columns it names -#}
        {{ relation_alias }}.*
    {%- elif columns | length == 0 -%}
        {%- if execute -%}{{ exceptions.raise_compiler_error("core_contract_select: " ~ node.name ~ " has no columns in YAML") }}{%- endif -%}
        *
    {%- else -%}
        {%- for column in columns %}
        cast({{ relation_alias }}.{{ adapter.quote(column.name) }} as {{ column.data_type }}) as {{ adapter.quote(column.name) }}{{ "," if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{#-
    Distinct non-null natural ids referenced by `refs` (a list of [model, column]),
    for inferred dimension members. `code=true` conforms them with core_code.
-#}
{% macro core_referenced_ids(refs, code=false) -%}
    {%- for pair in refs %}
    select distinct {{ core_code(pair[1]) if code else pair[1] }} as natural_id from {{ ref(pair[0]) }}
    where {{ pair[1] }} is not null
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#-
    Incremental facts. Each fact row carries `source_night`: the latest `_night` of
    the staged rows behind it. A night recomputes every fact row whose natural id
    has a staged row loaded since the last run, then replaces them (delete+insert
    on the unique key). Late-arriving and corrected records carry the night they
    were loaded, so they are picked up whatever their business date.

    "Loaded since the last run" is `_night` after the fact's highest `source_night`
    (every staged row up to that night was there when the fact was last built), or
    on/after the night being built (var as_of_date): a re-run of the same night, or
    a backfill of an earlier one, recomputes that night's rows to the same values,
    so it changes nothing. `>=` on the watermark alone would also redo the previous
    night's rows every night, and on the first night after a full build, every row.
    Without as_of_date (a manual `dbt build`), `>=` on the watermark keeps re-runs safe.
-#}
{#-
    `built`: the incremental table whose last run counts (default: the model being built);
    `watermark_column`: its column holding the night of each row's source (source_night in core).
-#}
{% macro core_watermark(built=none, watermark_column='source_night') -%}
    (select coalesce(max({{ watermark_column }}), cast('1900-01-01' as date)) from {{ built or this }})
{%- endmacro %}

{% macro core_loaded_since_last_run(night_column='_night', built=none, watermark_column='source_night') -%}
    {%- set watermark = core_watermark(built, watermark_column) -%}
    {%- if crmwh_as_of_date_given() -%}
        ({{ night_column }} > {{ watermark }} or {{ night_column }} >= {{ cv_as_of_date() }})
    {%- else -%}
        {{ night_column }} >= {{ watermark }}
    {%- endif -%}
{%- endmacro %}

{#- Natural ids (as `changed_id`) with a staged row loaded since the last run; `sources` is a list of [model, id column]. -#}
{% macro core_changed_ids(sources) -%}
    {%- for pair in sources %}
    select {{ pair[1] }} as changed_id from {{ ref(pair[0]) }}
    where {{ core_loaded_since_last_run() }} and {{ pair[1] }} is not null
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#-
    Customer key of a fact row: from the identity bridge by the (system, entity, id)
    of the customer record the row names; the unknown member when there is none.
-#}
{% macro core_customer_join(fact_alias, bridge_alias='customer_bridge', join_type='left') -%}
    {{ join_type }} join {{ ref('bridge_customer_source_id') }} as {{ bridge_alias }}
        on {{ bridge_alias }}.source_system = {{ fact_alias }}.customer_source_system
        and {{ bridge_alias }}.source_entity = {{ fact_alias }}.customer_source_entity
        and {{ bridge_alias }}.source_id = {{ fact_alias }}.customer_source_id
{%- endmacro %}

{% macro core_customer_key(bridge_alias='customer_bridge') -%}
    coalesce({{ bridge_alias }}.customer_key, {{ core_unknown_key() }})
{%- endmacro %}

{#-
    Ids (as `changed_id`) of fact rows whose stored customer key is no longer what
    the identity bridge says (a source record resolved late, or two customers merged):
    recomputing them keeps an incremental fact equal to a full refresh. Only bridge rows
    resolved since the fact's last run can say so (a bridge row's key changes only when it is
    resolved again, and a source id once in the bridge stays there).
-#}
{% macro core_rekeyed_ids(id_column) -%}
    select f.{{ id_column }} as changed_id
    from {{ this }} as f
    {{ core_customer_join('f', 'rekey_bridge', 'inner') }}
    where {{ core_loaded_since_last_run('rekey_bridge.resolved_night') }}
        and rekey_bridge.customer_key <> f.customer_key
{%- endmacro %}

{#-
    `where <column> in (...)` restricting an incremental run to the natural ids that
    changed (core_changed_ids over `sources`) or whose customer key must be redone
    (core_rekeyed_ids over the fact's `rekey_column`, default `column`). Nothing on a full build.
-#}
{% macro core_incremental_filter(column, sources, rekey_column=none) -%}
    {#- the refs outside the is_incremental() branch, so dbt sees the dependencies at parse time #}
    {%- for pair in sources %}
    -- depends_on: {{ ref(pair[0]) }}
    {%- endfor %}
    {%- if is_incremental() %}
    where {{ column }} in (
        {{ core_changed_ids(sources) }}
        union
        {{ core_rekeyed_ids(rekey_column or column) }}
    )
    {%- endif -%}
{%- endmacro %}

{#-
    Daily history tables (core.customer_daily_status, core.ticket_daily_backlog).
    The last day is var as_of_date (the night the pipeline builds), else the latest
    load night in `relation`; the first day is var core_history_days before it.
-#}
{% macro core_history_end_date(relation) -%}
    {{ crmwh_as_of_date_or("(select max(_night) from " ~ relation ~ ")") }}
{%- endmacro %}

{% macro core_history_start_date(relation) -%}
    cast({{ dbt.dateadd('day', -(var('core_history_days') | int), core_history_end_date(relation)) }} as date)
{%- endmacro %}

{#- Pre-hook of ticket_daily_backlog: drop the rows of tickets with a version loaded since the last run (they are rebuilt whole). -#}
{% macro core_backlog_forget_redone_tickets() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where ticket_id in (
        select ticket_id from {{ ref('snp_helpdesk__tickets') }}
        where {{ core_loaded_since_last_run() }}
    )
    {%- endif -%}
{%- endmacro %}
