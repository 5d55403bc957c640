{#- Lead funnel and lead quality per lead source and campaign (aggregate of sales_leads). -#}
with leads as (
    select * from {{ ref('sales_leads') }}
),

grouped as (
    select
        lead_source,
        coalesce(campaign_id, 'none') as campaign_id,
        max(campaign_name) as campaign_name,
        max(campaign_type) as campaign_type,
        count(*) as n_leads,
        sum(case when reached_contact then 1 else 0 end) as n_contacts,
        sum(case when reached_opportunity then 1 else 0 end) as n_opportunities,
        sum(case when reached_won then 1 else 0 end) as n_won,
        sum(case when became_customer then 1 else 0 end) as n_customers,
        sum(case when lead_status = 'disqualified' then 1 else 0 end) as n_disqualified,
        sum(case when was_customer_before_lead then 1 else 0 end) as n_existing_customers,
        sum(case when is_real_prospect then 1 else 0 end) as n_real_prospects,
        sum(case when has_talked_to_sales then 1 else 0 end) as n_talked_to_sales,
        avg(cast(lead_score as double precision)) as avg_lead_score,
        {{ crmwh_exact_avg('days_to_convert') }} as avg_days_to_convert,
        sum(case when reached_won then opportunity_amount else 0 end) as won_amount,
        sum(revenue_365d_after_lead) as revenue_365d_after_lead,
        min(created_date) as first_lead_date,
        max(created_date) as last_lead_date
    from leads
    group by lead_source, coalesce(campaign_id, 'none')
),

final as (
    select
        *,
        {{ sm_ratio('n_contacts', 'n_leads') }} as contact_rate,
        {{ sm_ratio('n_opportunities', 'n_contacts') }} as opportunity_rate,
        {{ sm_ratio('n_won', 'n_opportunities') }} as win_rate,
        {{ sm_ratio('n_won', 'n_leads') }} as lead_to_won_rate,
        {{ sm_ratio('n_customers', 'n_leads') }} as lead_to_customer_rate,
        {{ sm_ratio('n_real_prospects', 'n_leads') }} as real_prospect_share
    from grouped
)

select {{ core_contract_select('final') }}
from final
