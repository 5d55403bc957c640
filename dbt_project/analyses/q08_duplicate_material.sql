-- Q8: Which customers got the same material from two departments (duplicate contact)?
select
    customer_id,
    material_code,
    departments,
    campaign_ids,
    n_sends,
    n_contacts,
    first_sent_at,
    last_sent_at
from {{ ref('marketing_duplicate_sends') }}
where is_sent_by_two_departments
order by last_sent_at desc
