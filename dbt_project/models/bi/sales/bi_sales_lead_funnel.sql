{{ config(alias='sales_lead_funnel') }}
-- marts.sales_lead_funnel holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('sales_lead_funnel') }}
