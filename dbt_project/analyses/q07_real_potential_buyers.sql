-- Q7: Who among them (trade-show and brochure contacts) is a real potential buyer?
-- Open leads flagged is_real_prospect (rule in marts.sales_leads), best first.
select
    lead_id,
    lead_source,
    campaign_name,
    owner_employee_id,
    lead_status,
    funnel_stage,
    lead_score,
    n_sales_interactions,
    n_campaign_responses,
    created_date
from {{ ref('sales_leads') }}
where lead_source in ('trade_show', 'brochure')
    and is_real_prospect
    and not reached_won
order by lead_score desc, created_date desc
