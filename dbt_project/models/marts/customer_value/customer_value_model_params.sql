{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}
select
    cast(model as varchar) as model,
    cast(param as varchar) as param,
    cast(value as double) as value,
    cast(time_unit as varchar) as time_unit,
    cast(n_customers as bigint) as n_customers,
    cast(log_likelihood as double) as log_likelihood,
    cast(as_of_date as date) as as_of_date,
    cast(status as varchar) as status
from {{ ref('int_cv_model_params') }}
