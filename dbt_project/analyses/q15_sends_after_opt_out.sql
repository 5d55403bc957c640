-- Q15: I opted out of mailings and still get them. (sends after opt-out)
select
    contact_id,
    customer_id,
    channel_code,
    campaign_name,
    department_code,
    opted_out_at,
    sent_at,
    round(cast(days_since_opt_out as numeric), 1) as days_since_opt_out,
    opt_out_source
from {{ ref('marketing_sends_after_opt_out') }}
order by sent_at desc
