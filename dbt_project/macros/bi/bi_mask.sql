{#-
    Personal data for the `bi` schema: a salted md5 of the normalised value, or null.

    Why a hash and not a blank: BI users can still count distinct people, join two
    `bi` views on the same e-mail or phone, and spot duplicates, without ever seeing
    the value. The salt (var `bi_mask_salt`, else env CRMWH_BI_MASK_SALT) stops a
    plain md5 lookup of known addresses; set your own in production. Note that a
    view's SQL (and so the salt) is readable by anyone who can open the file.

    kind picks the normalisation, so that spellings of the same value hash alike:
      email -> lower(trim(x)); phone -> digits and '+' only; anything else -> lower(trim(x)).
    Portable: dbt.hash is md5 on DuckDB and PostgreSQL; regexp_replace(..., 'g') exists on both.
-#}
{% macro bi_mask_salt() -%}
    {{- var('bi_mask_salt', env_var('CRMWH_BI_MASK_SALT', 'crmwh-bi-mask')) -}}
{%- endmacro %}

{% macro bi_mask(expr, kind='text') -%}
    {%- set text = "cast(" ~ expr ~ " as " ~ dbt.type_string() ~ ")" -%}
    {%- if kind == 'phone' -%}
        {%- set normalised = "regexp_replace(" ~ text ~ ", '[^0-9+]', '', 'g')" -%}
    {%- else -%}
        {%- set normalised = "lower(trim(" ~ text ~ "))" -%}
    {%- endif -%}
    case when nullif(trim({{ text }}), '') is null then null
         else {{ dbt.hash(dbt.concat(["'" ~ (bi_mask_salt() | replace("'", "''")) ~ "|'", normalised])) }}
    end
{%- endmacro %}

{#-
    The columns the current model declares in its yml (its contract), comma-separated.
    Why: a `bi` view passes a mart through column for column; listing what the contract
    declares (rather than select *) means a column added to the mart later is not exposed
    to BI tools, nor breaks the view's contract, until someone declares and reviews it.
-#}
{% macro bi_declared_columns() -%}
    {%- for name in model.columns -%}
        {{ name }}{{ ",\n    " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
