{#-
    Helpers of the sales and marketing marts (models/marts/sales, models/marts/marketing).
    Every knob is a dbt var with a default, so a run without --vars builds.
-#}

{#- The reporting currency of every money column of these marts (same var as customer_value). -#}
{% macro sm_reporting_currency() -%}
    {{- var('cv_reporting_currency', 'EUR') | upper -}}
{%- endmacro %}

{#-
    Body of an `fx` CTE: currency -> factor to the reporting currency, from seeds/fx_rates.csv
    (eur_per_unit of the currency / eur_per_unit of the reporting currency).
    Join it with sm_fx_join; a currency the seed does not know converts to null (never silently 1).
-#}
{% macro sm_fx_cte() -%}
    select
        upper(f.currency) as currency,
        cast(f.eur_per_unit as double precision) / cast(r.eur_per_unit as double precision) as to_reporting
    from {{ ref('fx_rates') }} as f
    cross join (
        select eur_per_unit from {{ ref('fx_rates') }}
        where upper(currency) = '{{ sm_reporting_currency() }}'
    ) as r
{%- endmacro %}

{#- Left join of the fx CTE; a missing currency is taken as the reporting currency. -#}
{% macro sm_fx_join(alias, currency_expr) -%}
    left join fx as {{ alias }} on {{ alias }}.currency = upper(coalesce({{ currency_expr }}, '{{ sm_reporting_currency() }}'))
{%- endmacro %}

{#- An amount converted to the reporting currency, rounded to cents. -#}
{% macro sm_money(amount_expr, fx_alias) -%}
    cast(round(cast(cast({{ amount_expr }} as double precision) * {{ fx_alias }}.to_reporting as numeric(18, 4)), 2) as numeric(18, 2))
{%- endmacro %}

{#- a / b as double precision, null when b is 0 or null. -#}
{% macro sm_ratio(numerator, denominator) -%}
    cast({{ numerator }} as double precision) / nullif(cast({{ denominator }} as double precision), 0)
{%- endmacro %}

{#- Days (fractional) between two timestamps or dates, null when either is null. -#}
{% macro sm_days_between(start_expr, end_expr) -%}
    cast({{ dbt.datediff(start_expr, end_expr, 'second') }} as double precision) / 86400.0
{%- endmacro %}

{#-
    Deal size band of an amount in the reporting currency. Upper bounds of small, medium and large:
    var sales_deal_size_bounds (default [1000, 5000, 20000]); the rest is very_large.
-#}
{% macro sm_deal_size_band(amount_expr) -%}
    {%- set bounds = var('sales_deal_size_bounds', [1000, 5000, 20000]) -%}
    case
        when {{ amount_expr }} is null then 'unknown'
        when {{ amount_expr }} < {{ bounds[0] }} then 'small'
        when {{ amount_expr }} < {{ bounds[1] }} then 'medium'
        when {{ amount_expr }} < {{ bounds[2] }} then 'large'
        else 'very_large'
    end
{%- endmacro %}

{#- Days after a touch (campaign response, lead) within which a purchase is attributed to it. -#}
{% macro sm_attribution_days() -%}
    {{- var('marketing_attribution_days', 90) -}}
{%- endmacro %}

{#-
    Select list of a `bi` view over a sales or marketing mart: the columns the view's yml declares
    (so a new mart column is not exposed before it is reviewed), where a declared column named in
    `masks` (view column -> mart column) is the salted hash of the mart column (macro bi_mask).
-#}
{% macro sm_bi_select(masks={}) -%}
    {%- for name in model.columns -%}
        {%- if name in masks -%}
            {{ bi_mask(masks[name]) }} as {{ name }}
        {%- else -%}
            {{ name }}
        {%- endif -%}
        {{ ",\n    " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
