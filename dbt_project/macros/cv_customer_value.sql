{#-
    Helpers of the customer-value models (models/intermediate/customer_value,
    models/marts/customer_value). Every knob is a dbt var with a default, so a
    run without --vars still builds; the nightly pipeline passes as_of_date.
-#}

{#- The run's as-of date as a 'YYYY-MM-DD' string (crmwh_as_of_date_value), else the run's start date (UTC). -#}
{% macro cv_as_of_date_text() -%}
    {%- set value = crmwh_as_of_date_value() or run_started_at.strftime('%Y-%m-%d') -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error("crmwh: as_of_date (var or CRMWH_AS_OF_DATE) must be YYYY-MM-DD, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{#- The as-of date as a SQL date literal. -#}
{% macro cv_as_of_date() -%}
    cast('{{ cv_as_of_date_text() }}' as date)
{%- endmacro %}

{#- A numeric var, checked at compile time (a typo in --vars fails the run with a clear message). -#}
{% macro cv_number_var(name, default) -%}
    {%- set value = var(name, default) -%}
    {%- if value is none -%}{{ return(none) }}{%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^-?[0-9]+(\\.[0-9]+)?$', text) -%}
        {{ exceptions.raise_compiler_error("crmwh: var " ~ name ~ " must be a number, got '" ~ text ~ "'") }}
    {%- endif -%}
    {{- return(text) -}}
{%- endmacro %}

{#-
    Average discount factor over a horizon of `weeks` at an annual rate `rate`,
    money arriving evenly over the horizon (continuous discounting):
    DF = (1 - (1 + d)^(-H)) / (H * ln(1 + d)), H = weeks / 52 years; DF = 1 when d = 0.
    Rendered as a constant: it depends on vars only.
-#}
{% macro cv_discount_factor() -%}
    {%- set weeks = cv_number_var('cv_horizon_weeks', 52) | float -%}
    {%- set rate = cv_number_var('cv_discount_rate', 0.10) | float -%}
    {%- if weeks <= 0 or rate <= -1 -%}
        {{ exceptions.raise_compiler_error("crmwh: cv_horizon_weeks must be > 0 and cv_discount_rate > -1") }}
    {%- endif -%}
    {%- set years = weeks / 52.0 -%}
    {%- if rate == 0 -%}
        {{- return('1.0') -}}
    {%- endif -%}
    {#- dbt's Jinja has no math module: ln(1 + d) via the adapter's SQL ln(). -#}
    {{- return('((1.0 - power(1.0 + ' ~ rate ~ ', -' ~ years ~ ')) / (' ~ years ~ ' * ln(1.0 + ' ~ rate ~ ')))') -}}
{%- endmacro %}

{#-
    Named RFM segment from the three quintile scores (1 = worst, 5 = best) and the
    number of purchases. fm = (f + m) / 2 rounded half up. First match wins:
      New                 r >= 4 and exactly one purchase
      Champions           r >= 4 and fm >= 4
      Loyal               r >= 3 and fm >= 3
      Potential loyalist  r >= 3
      Can't lose them     r = 1 and fm >= 4
      At risk             r <= 2 and fm >= 3
      Hibernating         r = 2
      Lost                otherwise (r = 1, fm <= 3)
-#}
{% macro cv_rfm_segment(r, f, m, n_purchases) -%}
    case
        when {{ r }} >= 4 and {{ n_purchases }} = 1 then 'New'
        when {{ r }} >= 4 and floor(({{ f }} + {{ m }}) / 2.0 + 0.5) >= 4 then 'Champions'
        when {{ r }} >= 3 and floor(({{ f }} + {{ m }}) / 2.0 + 0.5) >= 3 then 'Loyal'
        when {{ r }} >= 3 then 'Potential loyalist'
        when {{ r }} = 1 and floor(({{ f }} + {{ m }}) / 2.0 + 0.5) >= 4 then 'Can''t lose them'
        when {{ r }} <= 2 and floor(({{ f }} + {{ m }}) / 2.0 + 0.5) >= 3 then 'At risk'
        when {{ r }} = 2 then 'Hibernating'
        else 'Lost'
    end
{%- endmacro %}

{#- Money in the reporting currency, rounded to cents as an exact decimal: sums of
    decimals do not depend on the order DuckDB's threads add rows in, so a re-run of
    a night gives bit-identical marts (sums of doubles do not). -#}
{% macro cv_cents(expr) -%}
    cast(round({{ expr }}, 2) as numeric(18, 2))
{%- endmacro %}

{#- A double made exact (fixed scale) before it is summed, for the same reason. -#}
{% macro cv_exact(expr, scale=6) -%}
    cast({{ expr }} as numeric(38, {{ scale }}))
{%- endmacro %}
