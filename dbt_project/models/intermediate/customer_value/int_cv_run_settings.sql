{#- One row: the as-of date and knobs of this run, for the Python models (which cannot read dbt vars). -#}
select
    {{ cv_as_of_date() }} as as_of_date,
    cast('{{ var("cv_time_unit", "week") }}' as varchar) as time_unit,
    cast({{ cv_number_var('cv_horizon_weeks', 52) }} as double) as horizon_weeks,
    cast({{ cv_number_var('cv_discount_rate', 0.10) }} as double) as discount_rate,
    cast({{ cv_discount_factor() }} as double) as discount_factor,
    cast({{ cv_number_var('cv_fallback_penalizer', 0.001) }} as double) as fallback_penalizer
