{{ config(alias='marketing_event_registrations') }}
-- marts.marketing_event_registrations holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('marketing_event_registrations') }}
