{{ config(alias='customer_portfolio', enabled=(target.type == 'duckdb')) }}
-- marts.customer_portfolio holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('customer_portfolio') }}
