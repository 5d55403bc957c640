{{ config(alias='customer_value', enabled=(target.type == 'duckdb')) }}
-- marts.customer_value holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('customer_value') }}
