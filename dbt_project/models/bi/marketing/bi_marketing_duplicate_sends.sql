{{ config(alias='marketing_duplicate_sends') }}
-- marts.marketing_duplicate_sends holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('marketing_duplicate_sends') }}
