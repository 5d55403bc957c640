{{ config(alias='customer_value_model_params', enabled=(target.type == 'duckdb')) }}
-- marts.customer_value_model_params holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('customer_value_model_params') }}
