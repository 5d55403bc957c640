{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}
{#-
    Customer measures (DOMAIN step 5, issue 4 item 4): per customer of marts.customer_value and
    as_of_date, the recommended best channel, contact frequency and next-best product.
      best_channel     the channel with the highest response rate of the customer's own campaign sends
                       (fct_campaign_touches, touch_type send, touched by as_of_date; rate = responded /
                       sent; ties: more responses, then channel name); when none of them got a response,
                       the channel the customer contacts us on most (inbound fct_interactions by
                       as_of_date); else the best channel of the customer's value_group (pooled response
                       rate of its customers' sends); else the best channel overall. best_channel_source
                       says which rule gave it.
      contacts_per_year var cv_contacts_per_year by value_group (default loyal 12, repeat 6, prospective 24,
                       ordinary 4): prospective customers get the most attention (invest to grow),
                       loyal monthly care, repeat buyers a lighter touch, ordinary customers quarterly.
      next_best_product_id the product of next_best_category with the most margin over the last 365 days
                       (ties: product id); the customer has bought nothing of that category.
-#}
{%- set freq = var('cv_contacts_per_year', {'loyal': 12, 'repeat': 6, 'prospective': 24, 'ordinary': 4}) -%}
with customers as (
    select customer_id, as_of_date, value_group, rfm_segment, next_best_category
    from {{ ref('customer_value') }}
    where as_of_date = {{ cv_as_of_date() }}
),

sends as (
    select customer_key as customer_id, channel_code, count(*) as n_sent,
        count(*) filter (where is_responded) as n_responded
    from {{ ref('fct_campaign_touches') }}
    where touch_type = 'send' and channel_code is not null
        and cast(touched_at as date) <= {{ cv_as_of_date() }}
    group by customer_key, channel_code
),

own_best as (
    select customer_id, channel_code, n_sent, n_responded, n_responded * 1.0 / n_sent as response_rate
    from (
        select *, row_number() over (
            partition by customer_id order by n_responded * 1.0 / n_sent desc, n_responded desc, channel_code) as rn
        from sends
        where n_responded > 0
    ) as ranked
    where rn = 1
),

inbound as (
    select customer_id, channel_code
    from (
        select customer_key as customer_id, channel_code,
            row_number() over (partition by customer_key order by count(*) desc, channel_code) as rn
        from {{ ref('fct_interactions') }}
        where direction = 'inbound' and channel_code is not null
            and cast(occurred_at as date) <= {{ cv_as_of_date() }}
        group by customer_key, channel_code
    ) as ranked
    where rn = 1
),

group_rates as (
    select c.value_group, s.channel_code, sum(s.n_responded) * 1.0 / sum(s.n_sent) as response_rate,
        sum(s.n_responded) as n_responded
    from sends as s
    inner join customers as c on c.customer_id = s.customer_id
    group by c.value_group, s.channel_code
),

group_best as (
    select value_group, channel_code
    from (
        select *, row_number() over (
            partition by value_group order by response_rate desc, n_responded desc, channel_code) as rn
        from group_rates
        where n_responded > 0
    ) as ranked
    where rn = 1
),

overall_best as (
    select channel_code
    from (
        select channel_code, sum(n_responded) * 1.0 / sum(n_sent) as response_rate, sum(n_responded) as n_responded
        from sends
        group by channel_code
        having sum(n_responded) > 0
    ) as rates
    order by response_rate desc, n_responded desc, channel_code
    limit 1
),

product_margin as (
    select category, product_id
    from (
        select p.category, l.product_id,
            row_number() over (partition by p.category order by sum(l.quantity * (l.unit_price - coalesce(l.unit_cost, 0))) desc,
                l.product_id) as rn
        from {{ ref('stg_erp__order_lines') }} as l
        inner join {{ ref('stg_erp__orders') }} as o on o.order_id = l.order_id
        inner join {{ ref('stg_erp__products') }} as p on p.product_id = l.product_id
        where o.order_date > {{ cv_as_of_date() }} - interval 365 day and o.order_date <= {{ cv_as_of_date() }}
            and o.status is distinct from 'cancelled'
        group by p.category, l.product_id
    ) as ranked
    where rn = 1
)

select
    cast(c.customer_id as varchar) as customer_id,
    cast(c.as_of_date as date) as as_of_date,
    cast(c.value_group as varchar) as value_group,
    cast(c.rfm_segment as varchar) as rfm_segment,
    cast(coalesce(ob.channel_code, ib.channel_code, gb.channel_code, ov.channel_code) as varchar) as best_channel,
    cast(case
        when ob.channel_code is not null then 'own_response'
        when ib.channel_code is not null then 'own_inbound'
        when gb.channel_code is not null then 'group_response'
        when ov.channel_code is not null then 'overall_response'
    end as varchar) as best_channel_source,
    cast(ob.response_rate as double) as best_channel_response_rate,
    cast(coalesce(s.n_sent, 0) as bigint) as campaign_sends,
    cast(coalesce(s.n_responded, 0) as bigint) as campaign_responses,
    cast(case c.value_group
        {%- for group, n in freq.items() %}
        when '{{ group }}' then {{ n | float }}
        {%- endfor %}
    end as double) as contacts_per_year,
    cast(round(365.0 / case c.value_group
        {%- for group, n in freq.items() %}
        when '{{ group }}' then nullif({{ n | float }}, 0)
        {%- endfor %}
    end) as integer) as contact_interval_days,
    cast(c.next_best_category as varchar) as next_best_category,
    cast(pm.product_id as varchar) as next_best_product_id
from customers as c
left join own_best as ob on ob.customer_id = c.customer_id
left join inbound as ib on ib.customer_id = c.customer_id
left join group_best as gb on gb.value_group = c.value_group
left join overall_best as ov on true
left join (
    select customer_id, sum(n_sent) as n_sent, sum(n_responded) as n_responded from sends group by customer_id
) as s on s.customer_id = c.customer_id
left join product_margin as pm on pm.category = c.next_best_category
