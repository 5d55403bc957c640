{#-
    Typing delivered text into the contract types, the same on DuckDB and PostgreSQL.

    Contract types (ingestion/contracts): varchar, boolean, bigint, double, date,
    timestamp, numeric(p,s). A value that does not cast becomes null here; the
    staging macro tells "was blank" from "did not cast" and quarantines the latter.
-#}

{% macro crmwh_sql_type(contract_type) -%}
    {%- set t = contract_type | lower | trim -%}
    {%- if t == 'varchar' -%}{{ dbt.type_string() }}
    {%- elif t == 'boolean' -%}{{ dbt.type_boolean() }}
    {%- elif t == 'bigint' -%}{{ dbt.type_bigint() }}
    {%- elif t == 'double' -%}double precision
    {%- elif t == 'date' -%}date
    {%- elif t == 'timestamp' -%}{{ dbt.type_timestamp() }}
    {%- elif t == 'timestamptz' -%}timestamp with time zone
    {%- elif t.startswith('numeric') or t.startswith('decimal') -%}{{ t }}
    {%- else -%}{{ exceptions.raise_compiler_error("crmwh_sql_type: unsupported contract type " ~ contract_type) }}
    {%- endif -%}
{%- endmacro %}


{#-
    Cast text to `contract_type`, null when it does not cast. dbt.safe_cast is a real
    safe cast on Snowflake, BigQuery, Spark and Trino, but a plain (raising) cast on
    DuckDB and PostgreSQL, so those two get their own implementation.
-#}
{% macro crmwh_try_cast(expr, contract_type) -%}
    {{ return(adapter.dispatch('crmwh_try_cast', 'crmwh')(expr, contract_type)) }}
{%- endmacro %}

{% macro default__crmwh_try_cast(expr, contract_type) -%}
    {{ dbt.safe_cast(expr, crmwh_sql_type(contract_type)) }}
{%- endmacro %}

{% macro duckdb__crmwh_try_cast(expr, contract_type) -%}
    try_cast({{ expr }} as {{ crmwh_sql_type(contract_type) }})
{%- endmacro %}

{#- PostgreSQL's cast raises on bad input: call the helper functions crmwh_on_run_start creates. -#}
{% macro postgres__crmwh_try_cast(expr, contract_type) -%}
    {{ target.schema }}.{{ crmwh_pg_try_cast_function(contract_type) }}({{ expr }})
{%- endmacro %}


{#- `expr` matches the regular expression `pattern` (POSIX syntax common to RE2 and PostgreSQL). -#}
{% macro crmwh_regex_matches(expr, pattern) -%}
    {{ return(adapter.dispatch('crmwh_regex_matches', 'crmwh')(expr, pattern)) }}
{%- endmacro %}

{% macro default__crmwh_regex_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__crmwh_regex_matches(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}


{#-
    One typed column from a text expression (already trimmed, blanks as null).
    - boolean: true/t/1/yes/y and false/f/0/no/n, any case; anything else does not cast.
    - bigint: digits with an optional sign only (DuckDB alone would round 12.5 and read 1e3).
    - timestamp: a value with `Z` or a UTC offset (+02:00, -0530, +02) is converted to UTC;
      a value without one is taken as UTC already. The result is a naive UTC timestamp.
-#}
{% macro crmwh_typed_column(text_expr, contract_type) -%}
    {%- set t = contract_type | lower | trim -%}
    {%- if t == 'varchar' -%}
        {{ text_expr }}
    {%- elif t == 'boolean' -%}
        case
            when lower({{ text_expr }}) in ('true', 't', '1', 'yes', 'y') then true
            when lower({{ text_expr }}) in ('false', 'f', '0', 'no', 'n') then false
        end
    {%- elif t == 'bigint' -%}
        case
            when {{ crmwh_regex_matches(text_expr, '^[+-]?[0-9]{1,18}$') }} then {{ crmwh_try_cast(text_expr, t) }}
        end
    {%- elif t == 'timestamp' -%}
        case
            when {{ crmwh_regex_matches(text_expr, '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)? ?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$') }}
                then cast(({{ crmwh_try_cast(text_expr, 'timestamptz') }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
            else {{ crmwh_try_cast(text_expr, 'timestamp') }}
        end
    {%- else -%}
        {{ crmwh_try_cast(text_expr, t) }}
    {%- endif -%}
{%- endmacro %}
