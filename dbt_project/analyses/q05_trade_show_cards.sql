-- Q5: Business cards from a trade show: how many became contacts, opportunities, customers?
select
    campaign_name,
    campaign_start_date,
    count(*) as business_cards,
    sum(case when lead_reached_contact then 1 else 0 end) as became_contacts,
    sum(case when lead_reached_opportunity then 1 else 0 end) as became_opportunities,
    sum(case when lead_reached_won then 1 else 0 end) as won_deals,
    sum(case when lead_became_customer then 1 else 0 end) as became_customers
from {{ ref('marketing_campaign_followup') }}
where campaign_type = 'trade_show' and lead_id is not null
group by campaign_name, campaign_start_date
order by campaign_start_date
