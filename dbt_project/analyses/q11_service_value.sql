-- Q11: Is service only a cost? Service revenue, contracts, and the repurchase rate of customers by service experience.
select
    experience_group,
    count(*) as customers,
    sum(service_revenue) as service_revenue,
    sum(service_margin) as service_margin,
    sum(service_contract_count) as service_contracts,
    avg(case when has_repurchased_after_experience then 1.0 else 0.0 end) as repurchase_rate,
    avg(case when is_repeat_customer then 1.0 else 0.0 end) as repeat_customer_rate
from {{ ref('service_customer_experience') }}
group by experience_group
order by experience_group
