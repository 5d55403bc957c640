-- Q1: Which of the leads marketing hands over are real prospects? (lead quality and conversion by lead source)
select
    lead_source,
    sum(n_leads) as leads,
    sum(n_contacts) as contacts,
    sum(n_opportunities) as opportunities,
    sum(n_won) as won,
    sum(n_real_prospects) as real_prospects,
    round(cast(sum(n_real_prospects) as numeric) / nullif(sum(n_leads), 0), 3) as real_prospect_share,
    round(cast(sum(n_contacts) as numeric) / nullif(sum(n_leads), 0), 3) as contact_rate,
    round(cast(sum(n_won) as numeric) / nullif(sum(n_leads), 0), 3) as lead_to_won_rate,
    round(cast(sum(avg_lead_score * n_leads) / nullif(sum(n_leads), 0) as numeric), 1) as avg_lead_score
from {{ ref('sales_lead_funnel') }}
group by lead_source
order by real_prospect_share desc
