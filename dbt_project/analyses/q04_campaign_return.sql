-- Q4: Last year's marketing spend: what did it return? (campaign cost vs attributed revenue and margin)
-- Campaigns started in the 12 months before the latest campaign start; attribution rule in marts.marketing_campaign_performance.
select
    campaign_type,
    count(*) as campaigns,
    sum(cost) as cost,
    sum(attributed_revenue) as attributed_revenue,
    sum(attributed_margin) as attributed_margin,
    round(cast((sum(attributed_margin) - sum(cost)) / nullif(sum(cost), 0) as numeric), 2) as roi
from {{ ref('marketing_campaign_performance') }}
where start_date > {{ dbt.dateadd('day', -365, "(select max(start_date) from " ~ ref('marketing_campaign_performance') ~ ")") }}
group by rollup (campaign_type)
order by campaign_type nulls last
