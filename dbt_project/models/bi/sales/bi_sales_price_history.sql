{{ config(alias='sales_price_history', enabled=(target.type == 'duckdb')) }}
-- marts.sales_price_history holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('sales_price_history') }}
