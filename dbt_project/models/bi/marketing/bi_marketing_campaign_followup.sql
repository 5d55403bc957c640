{{ config(alias='marketing_campaign_followup') }}
-- marts.marketing_campaign_followup holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('marketing_campaign_followup') }}
