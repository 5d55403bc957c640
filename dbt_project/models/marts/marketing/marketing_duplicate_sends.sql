{#-
    Q8: one row per customer and material (dim_campaign.material_code) the customer was sent more
    than once, across all of the customer's contact records, with the departments and campaigns that sent it.
-#}
with sends as (
    select
        t.customer_key,
        t.contact_id,
        t.campaign_id,
        coalesce(t.department_code, c.department_code) as department_code,
        c.material_code,
        t.touched_at
    from {{ ref('fct_campaign_touches') }} as t
    inner join {{ ref('dim_campaign') }} as c on c.campaign_key = t.campaign_key
    where t.touch_type = 'send'
        and c.material_code is not null
        and t.customer_key <> {{ core_unknown_key() }}
),

repeated as (
    -- only pairs sent more than once get their lists built (a small share of all sends)
    select customer_key, material_code
    from sends
    group by customer_key, material_code
    having count(*) > 1
),

repeated_sends as (
    select sends.*
    from sends
    inner join repeated
        on repeated.customer_key = sends.customer_key and repeated.material_code = sends.material_code
),

grouped as (
    select
        customer_key,
        material_code,
        count(*) as n_sends,
        count(distinct contact_id) as n_contacts,
        count(distinct campaign_id) as n_campaigns,
        count(distinct department_code) as n_departments,
        min(touched_at) as first_sent_at,
        max(touched_at) as last_sent_at
    from repeated_sends
    group by customer_key, material_code
),

department_lists as (
    select
        customer_key,
        material_code,
        {{ dbt.listagg('department_code', "', '", 'order by department_code') }} as departments
    from (
        select distinct customer_key, material_code, department_code
        from repeated_sends
        where department_code is not null
    ) as d
    group by customer_key, material_code
),

campaign_lists as (
    select
        customer_key,
        material_code,
        {{ dbt.listagg('campaign_id', "', '", 'order by campaign_id') }} as campaign_ids
    from (select distinct customer_key, material_code, campaign_id from repeated_sends) as d
    group by customer_key, material_code
),

final as (
    select
        g.customer_key as customer_id,
        g.material_code,
        g.n_sends,
        g.n_contacts,
        g.n_campaigns,
        g.n_departments,
        d.departments,
        cl.campaign_ids,
        g.first_sent_at,
        g.last_sent_at,
        {{ sm_days_between('g.first_sent_at', 'g.last_sent_at') }} as days_between_first_and_last,
        g.n_departments >= 2 as is_sent_by_two_departments
    from grouped as g
    left join department_lists as d on d.customer_key = g.customer_key and d.material_code = g.material_code
    left join campaign_lists as cl on cl.customer_key = g.customer_key and cl.material_code = g.material_code
)

select {{ core_contract_select('final') }}
from final
