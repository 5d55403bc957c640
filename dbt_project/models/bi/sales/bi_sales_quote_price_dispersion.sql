{{ config(alias='sales_quote_price_dispersion') }}
-- marts.sales_quote_price_dispersion holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('sales_quote_price_dispersion') }}
