{{ config(alias='marketing_sends_after_opt_out') }}
-- marts.marketing_sends_after_opt_out holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('marketing_sends_after_opt_out') }}
