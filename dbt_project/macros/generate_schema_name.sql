{#-
    Build `+schema: staging` into schema `staging`, not `<target schema>_staging`:
    the warehouse's schemas (raw, quarantine, staging, core, marts, bi, audit)
    are part of the user-facing contract.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
