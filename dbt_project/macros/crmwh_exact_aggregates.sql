{#-
    Sum and average of a fractional double (minutes, hours, shares) that come out the same
    bit for bit on every run. A sum of doubles depends on the order rows arrive in, which a
    re-run or another delivery order changes; rounded to 6 decimals and summed as exact
    decimals, it does not. The result is a double again.
-#}
{% macro crmwh_exact_sum(expr) -%}
    cast(sum(cast({{ expr }} as numeric(18, 6))) as double precision)
{%- endmacro %}

{% macro crmwh_exact_avg(expr) -%}
    cast(avg(cast({{ expr }} as numeric(18, 6))) as double precision)
{%- endmacro %}
