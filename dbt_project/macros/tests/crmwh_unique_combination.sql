{#- The combination of `columns` is unique in the model (for keys of more than one column). -#}
{% test crmwh_unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
