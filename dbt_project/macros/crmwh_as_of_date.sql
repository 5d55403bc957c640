{#- Whether the run was given var as_of_date (the nightly pipeline always passes the night). -#}
{% macro crmwh_as_of_date_given() -%}
    {%- set value = var('as_of_date', none) -%}
    {{- return(value is not none and (value | string | trim) != '') -}}
{%- endmacro %}

{#- var as_of_date as a SQL date (checked, see cv_as_of_date_text), else the SQL expression `fallback`. -#}
{% macro crmwh_as_of_date_or(fallback) -%}
    {%- if crmwh_as_of_date_given() -%}
        {{ cv_as_of_date() }}
    {%- else -%}
        {{ fallback }}
    {%- endif -%}
{%- endmacro %}
