{{ config(alias='sales_pipeline') }}
-- marts.sales_pipeline holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('sales_pipeline') }}
