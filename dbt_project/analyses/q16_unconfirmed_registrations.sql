-- Q16: I registered for your seminar and got no confirmation.
-- Per event: registrations never confirmed, or confirmed later than the SLA (marts.marketing_event_registrations).
select
    campaign_name,
    event_start_date,
    count(*) as registrations,
    sum(case when is_unconfirmed then 1 else 0 end) as unconfirmed,
    round(cast(sum(case when is_unconfirmed then 1 else 0 end) as numeric) / count(*), 3) as unconfirmed_share,
    sum(case when is_unconfirmed and is_attended then 1 else 0 end) as unconfirmed_but_attended
from {{ ref('marketing_event_registrations') }}
group by campaign_name, event_start_date
order by unconfirmed desc, event_start_date desc
