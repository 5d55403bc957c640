{{ config(alias='customer_measures', enabled=(target.type == 'duckdb')) }}
-- marts.customer_measures holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('customer_measures') }}
