{{ config(alias='marketing_web_visitors') }}
-- marts.marketing_web_visitors holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('marketing_web_visitors') }}
