{#-
    Q2 (a rep on the road: everything about this customer and the products they have): one row per
    resolved customer: who they are, the account owner, value (revenue and margin to date; lifetime
    value, value group and RFM segment from marts.customer_value on DuckDB, null elsewhere), products
    owned, service contracts, tickets (open ones too) and satisfaction, the last contact and open quotes.
-#}
{%- set with_customer_value = target.type == 'duckdb' -%}
with customers as (
    select * from {{ ref('dim_customer') }} where not is_unknown
),

employees as (
    select employee_id, full_name, role from {{ ref('dim_employee') }}
),

accounts as (
    -- the customer's CRM account (the most recently updated one when identities merged several)
    select customer_key, account_id, account_name, industry, owner_employee_id
    from (
        select
            b.customer_key,
            a.account_id,
            a.account_name,
            a.industry,
            a.owner_employee_id,
            row_number() over (partition by b.customer_key order by a.updated_at desc, a.account_id) as recency
        from {{ ref('bridge_customer_source_id') }} as b
        inner join {{ ref('dim_account') }} as a on a.account_id = b.source_id
        where b.source_system = 'crm' and b.source_entity = 'accounts'
    ) as ranked
    where recency = 1
),

order_lines as (
    select l.customer_key, l.product_id, p.product_name, p.is_service, l.revenue, l.margin
    from {{ ref('fct_order_lines') }} as l
    left join {{ ref('dim_product') }} as p on p.product_key = l.product_key
    where not l.is_cancelled
),

products_owned as (
    select
        customer_key,
        count(distinct product_id) as products_owned_count,
        sum(revenue) as revenue_to_date,
        sum(margin) as margin_to_date
    from order_lines
    group by customer_key
),

product_names as (
    select customer_key, {{ dbt.listagg('product_name', "', '", 'order by product_name') }} as products_owned
    from (select distinct customer_key, product_name from order_lines where product_name is not null) as d
    group by customer_key
),

orders as (
    select customer_key, count(*) as order_count, max(order_date) as last_order_date
    from {{ ref('fct_orders') }}
    where not is_cancelled
    group by customer_key
),

tickets as (
    select
        customer_id,
        count(*) as ticket_count,
        sum(case when is_open then 1 else 0 end) as open_ticket_count,
        sum(case when is_sla_breached then 1 else 0 end) as sla_breached_ticket_count,
        max(created_at) as last_ticket_at,
        avg(cast(satisfaction_score as {{ dbt.type_float() }})) as avg_satisfaction_score
    from {{ ref('service_tickets') }}
    group by customer_id
),

experience as (
    select customer_id, service_contract_count, service_revenue, experience_group
    from {{ ref('service_customer_experience') }}
),

contacts as (
    select customer_key, occurred_at, channel_code, employee_id
    from (
        select
            customer_key, occurred_at, channel_code, employee_id,
            row_number() over (partition by customer_key order by occurred_at desc, interaction_key) as recency
        from {{ ref('fct_interactions') }}
    ) as ranked
    where recency = 1
),

open_quotes as (
    select customer_key, count(*) as open_quote_count
    from {{ ref('fct_quotes') }}
    where quote_status = 'sent'
    group by customer_key
),

{%- if with_customer_value %}
value as (
    select customer_id, lifetime_value, value_group, rfm_segment
    from (
        select
            customer_id, lifetime_value, value_group, rfm_segment,
            row_number() over (partition by customer_id order by as_of_date desc) as recency
        from {{ ref('customer_value') }}
        where as_of_date <= {{ svc_as_of_date() }}
    ) as ranked
    where recency = 1
),
{%- endif %}

final as (
    select
        c.customer_key as customer_id,
        c.customer_type,
        c.customer_name,
        c.company_name,
        c.email,
        c.phone_e164,
        c.city,
        c.country,
        c.first_seen_at,
        a.account_id,
        a.industry,
        a.owner_employee_id,
        own.full_name as owner_name,
        own.role as owner_role,
        coalesce(o.order_count, 0) as order_count,
        o.last_order_date,
        coalesce(po.revenue_to_date, 0) as revenue_to_date,
        coalesce(po.margin_to_date, 0) as margin_to_date,
        {%- if with_customer_value %}
        v.lifetime_value,
        v.value_group,
        v.rfm_segment,
        {%- else %}
        cast(null as {{ dbt.type_float() }}) as lifetime_value,
        cast(null as {{ dbt.type_string() }}) as value_group,
        cast(null as {{ dbt.type_string() }}) as rfm_segment,
        {%- endif %}
        coalesce(po.products_owned_count, 0) as products_owned_count,
        pn.products_owned,
        coalesce(x.service_contract_count, 0) as service_contract_count,
        coalesce(x.service_revenue, 0) as service_revenue,
        coalesce(x.experience_group, 'no_ticket') as service_experience_group,
        coalesce(t.ticket_count, 0) as ticket_count,
        coalesce(t.open_ticket_count, 0) as open_ticket_count,
        coalesce(t.sla_breached_ticket_count, 0) as sla_breached_ticket_count,
        t.last_ticket_at,
        t.avg_satisfaction_score,
        ct.occurred_at as last_contact_at,
        ct.channel_code as last_contact_channel,
        ct.employee_id as last_contact_employee_id,
        coalesce(q.open_quote_count, 0) as open_quote_count
    from customers as c
    left join accounts as a on a.customer_key = c.customer_key
    left join employees as own on own.employee_id = a.owner_employee_id
    left join orders as o on o.customer_key = c.customer_key
    left join products_owned as po on po.customer_key = c.customer_key
    left join product_names as pn on pn.customer_key = c.customer_key
    left join tickets as t on t.customer_id = c.customer_key
    left join experience as x on x.customer_id = c.customer_key
    left join contacts as ct on ct.customer_key = c.customer_key
    left join open_quotes as q on q.customer_key = c.customer_key
    {%- if with_customer_value %}
    left join value as v on v.customer_id = c.customer_key
    {%- endif %}
)

select {{ core_contract_select('final') }}
from final
