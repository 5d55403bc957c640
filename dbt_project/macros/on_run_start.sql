{#- Run before every dbt invocation (dbt_project.yml on-run-start). -#}
{% macro crmwh_on_run_start() -%}
    {{ return(adapter.dispatch('crmwh_on_run_start', 'crmwh')()) }}
{%- endmacro %}

{% macro default__crmwh_on_run_start() -%}
    select 1 as crmwh_nothing_to_prepare
{%- endmacro %}

{#- The types crmwh_try_cast may be asked for on PostgreSQL, and the helper function for each. -#}
{% macro crmwh_pg_try_cast_types() -%}
    {{ return({
        'bigint': 'bigint',
        'double': 'double precision',
        'date': 'date',
        'timestamp': 'timestamp',
        'timestamptz': 'timestamptz',
        'numeric(18,2)': 'numeric(18,2)',
    }) }}
{%- endmacro %}

{% macro crmwh_pg_try_cast_function(contract_type) -%}
    {%- set t = contract_type | lower | replace(' ', '') -%}
    {%- if t not in crmwh_pg_try_cast_types() -%}
        {{ exceptions.raise_compiler_error("crmwh_try_cast on postgres: no helper for type " ~ contract_type ~ "; add it to crmwh_pg_try_cast_types") }}
    {%- endif -%}
    crmwh_try_cast_{{ t | replace('(', '_') | replace(',', '_') | replace(')', '') }}
{%- endmacro %}

{#-
    PostgreSQL (15 has no pg_input_is_valid): one plpgsql function per type that returns
    null instead of raising. Not "parallel safe": an exception block starts a subtransaction.
-#}
{% macro postgres__crmwh_on_run_start() -%}
    {%- for contract_type, sql_type in crmwh_pg_try_cast_types().items() %}
    create or replace function {{ target.schema }}.{{ crmwh_pg_try_cast_function(contract_type) }}(value text)
    returns {{ sql_type }} language plpgsql stable as $crmwh$
    begin
        return value::{{ sql_type }};
    exception when others then
        return null;
    end
    $crmwh$;
    {%- endfor %}
{%- endmacro %}
