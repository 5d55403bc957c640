{{ config(alias='satisfaction_loyalty_trend', enabled=(target.type == 'duckdb')) }}
-- marts.satisfaction_loyalty_trend holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('satisfaction_loyalty_trend') }}
