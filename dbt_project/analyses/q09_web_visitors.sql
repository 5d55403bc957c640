-- Q9: Who are the website's visitors and what do they want?
-- Visitors by kind (anonymous, identified, known customer, buyer) and the product categories they look at most.
select
    case
        when is_buyer then 'buyer'
        when is_known_customer then 'known, not yet a buyer'
        when is_identified then 'identified, not matched'
        else 'anonymous'
    end as visitor_kind,
    coalesce(product_category, '(no product page)') as product_category,
    count(distinct visitor_id) as visitors,
    sum(n_visits) as visits,
    sum(case when is_top_interest then 1 else 0 end) as visitors_with_it_as_top_interest,
    sum(case when has_bought_product_after_visit then 1 else 0 end) as bought_after_visit
from {{ ref('marketing_web_visitors') }}
group by 1, 2
order by 1, visits desc
