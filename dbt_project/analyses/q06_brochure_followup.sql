-- Q6: People got brochures at the show: how did they respond, how many have since talked to sales?
select
    campaign_name,
    campaign_start_date,
    count(*) as brochures_handed_out,
    sum(case when is_responded then 1 else 0 end) as responded,
    sum(case when has_talked_to_sales_after then 1 else 0 end) as talked_to_sales_since,
    round(cast(avg(days_to_first_sales_interaction) as numeric), 1) as avg_days_to_first_sales_talk,
    sum(case when n_opportunities_after > 0 then 1 else 0 end) as with_opportunity_since,
    sum(case when has_purchased_after then 1 else 0 end) as bought_since
from {{ ref('marketing_campaign_followup') }}
where campaign_type = 'brochure'
group by campaign_name, campaign_start_date
order by campaign_start_date
