{{ config(alias='repeat_customer_share', enabled=(target.type == 'duckdb')) }}
-- marts.repeat_customer_share holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('repeat_customer_share') }}
