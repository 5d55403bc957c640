{#- Every column of `columns` is non-null and their combination is unique: a composite primary key. -#}
{% test cv_primary_key(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n_rows, 'duplicate key' as problem
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
    union all
    select {{ columns | join(', ') }}, 1 as n_rows, 'null in key' as problem
    from {{ model }}
    where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}

{#- The column is >= 0 (null passes; use not_null for that). Narrow with config `where`. -#}
{% test cv_non_negative(model, column_name) %}
    select {{ column_name }} from {{ model }} where {{ column_name }} < 0
{% endtest %}

{#- The column lies in [min_value, max_value] (null passes). -#}
{% test cv_between(model, column_name, min_value, max_value) %}
    select {{ column_name }} from {{ model }}
    where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}
