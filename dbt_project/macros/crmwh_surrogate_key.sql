{#-
    A surrogate key over `fields` (column names or SQL expressions): md5 of the
    values joined by '-', with nulls spelled '_crmwh_null_' so (a, null) and
    (null, a) differ. Same result on DuckDB and PostgreSQL (dbt.hash is md5 on both).
-#}
{% macro crmwh_surrogate_key(fields) -%}
    {%- set parts = [] -%}
    {%- for field in fields -%}
        {%- do parts.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_crmwh_null_')") -%}
        {%- if not loop.last -%}{%- do parts.append("'-'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
