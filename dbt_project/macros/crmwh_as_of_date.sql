{#-
    The night a run builds: var as_of_date when given (a manual `dbt build --vars`),
    else $CRMWH_AS_OF_DATE (how the nightly pipeline passes it: a --vars value that
    changes every night makes dbt re-parse the whole project, ~16 s; an environment
    variable read at compile time does not), else '' (not given).
-#}
{% macro crmwh_as_of_date_value() -%}
    {{- return(crmwh_var_or_env('as_of_date', 'CRMWH_AS_OF_DATE')) -}}
{%- endmacro %}

{#-
    A run setting: var `var_name` when given by hand (`dbt build --vars`), else environment
    variable `env_name` (how the pipeline passes values that change every night), else ''.
    The variable is read only when compiling: an environment variable read while parsing
    makes dbt re-parse every file that read it when its value changes.
-#}
{% macro crmwh_var_or_env(var_name, env_name) -%}
    {%- set value = var(var_name, none) -%}
    {%- if execute and (value is none or (value | string | trim) == '') -%}
        {%- set value = env_var(env_name, '') -%}
    {%- endif -%}
    {%- if value is none -%}{%- set value = '' -%}{%- endif -%}
    {{- return(value | string | trim) -}}
{%- endmacro %}

{#- Whether the run was given an as-of date (the nightly pipeline always passes the night). -#}
{% macro crmwh_as_of_date_given() -%}
    {{- return(crmwh_as_of_date_value() != '') -}}
{%- endmacro %}

{#- The as-of date as a SQL date (checked, see cv_as_of_date_text), else the SQL expression `fallback`. -#}
{% macro crmwh_as_of_date_or(fallback) -%}
    {%- if crmwh_as_of_date_given() -%}
        {{ cv_as_of_date() }}
    {%- else -%}
        {{ fallback }}
    {%- endif -%}
{%- endmacro %}
