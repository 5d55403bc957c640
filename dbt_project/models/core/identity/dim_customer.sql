{{ config(
    materialized='incremental',
    schema='core',
    incremental_strategy='delete+insert',
    unique_key='customer_key',
    on_schema_change='append_new_columns',
    pre_hook="{{ mart_forget_build_without('resolved_night') }}",
    post_hook="delete from {{ this }} where not is_unknown and customer_key not in (select customer_key from {{ ref('bridge_customer_source_id') }})"
) }}
{#-
    One row per customer: a party (a company for B2B, a consumer for B2C) resolved
    across CRM, ERP, helpdesk and bring-your-own systems, plus the unknown member.
    People of a company (contacts, requesters, leads with a company) belong to their
    company's row. Attributes come from the component's source records by source
    priority, then earliest-seen record (see each column's description).

    Incremental: a night recomputes the customers with a source id resolved since this table's
    last run (bridge_customer_source_id.resolved_night). That covers every customer whose
    records changed: a record that moves away relabels its whole old component, so the
    customer it leaves has resolved ids too, unless none are left (a key retired by a merge),
    and those rows go in the post-hook.
-#}
{%- set customers_changed_only = mart_is_incremental('resolved_night') %}
{%- set sources = ['erp:customers', 'crm:accounts', 'crm:contacts', 'helpdesk:requesters', 'crm:leads'] %}
{%- set picks = [
    ('company_name', "company_name", ['crm:accounts', 'erp:customers', 'crm:leads', 'helpdesk:requesters', 'crm:contacts']),
    ('person_name', "person_name", ['erp:customers', 'crm:accounts', 'crm:contacts', 'helpdesk:requesters', 'crm:leads']),
    ('email', "email_norm", ['erp:customers', 'crm:contacts', 'helpdesk:requesters', 'crm:leads']),
    ('phone_e164', "phone_e164", ['crm:accounts', 'erp:customers', 'crm:contacts', 'helpdesk:requesters', 'crm:leads']),
    ('city', "city", ['erp:customers', 'crm:accounts', 'crm:contacts']),
    ('country', "country", ['erp:customers', 'crm:accounts', 'crm:contacts']),
    ('vat_id', "vat_id_norm", ['erp:customers']),
    ('website_domain', "coalesce(website_domain, email_domain)", ['crm:accounts', 'erp:customers', 'crm:contacts', 'helpdesk:requesters', 'crm:leads']),
] %}
with bridge as (
    select * from {{ ref('bridge_customer_source_id') }}
    where customer_key <> {{ core_unknown_key() }}
),

{%- if customers_changed_only %}

changed_customers as (
    select customer_key from bridge
    where {{ core_loaded_since_last_run('resolved_night', watermark_column='resolved_night') }}
),
{%- endif %}

members as (
    select
        b.customer_key,
        b.resolved_night,
        n.*,
        {{ dbt.concat(["n.source_system", "':'", "n.entity"]) }} as source_name
    from bridge as b
    inner join {{ ref('int_identity__nodes') }} as n
        on n.source_system = b.source_system and n.entity = b.source_entity and n.source_id = b.source_id
    {%- if customers_changed_only %}
    where b.customer_key in (select customer_key from changed_customers)
    {%- endif %}
),

summary as (
    select
        customer_key,
        case when max(case when party_type = 'business' then 1 else 0 end) = 1 then 'business' else 'consumer' end as customer_type,
        min(first_seen_at) as first_seen_at,
        count(*) as n_source_ids,
        sum(case when source_name = 'crm:accounts' then 1 else 0 end) as n_crm_accounts,
        sum(case when source_name = 'crm:contacts' then 1 else 0 end) as n_crm_contacts,
        sum(case when source_name = 'crm:leads' then 1 else 0 end) as n_crm_leads,
        sum(case when source_name = 'erp:customers' then 1 else 0 end) as n_erp_customers,
        sum(case when source_name = 'helpdesk:requesters' then 1 else 0 end) as n_helpdesk_requesters,
        sum(case when source_name = 'callcenter:calls' then 1 else 0 end) as n_calls,
        sum(case when source_name = 'crm:web_visits' then 1 else 0 end) as n_web_visitors,
        sum(case when source_name = 'crm:event_registrations' then 1 else 0 end) as n_event_registrations,
        sum(case when record_role = 'customer_record'
            and source_name not in ({% for s in sources %}'{{ s }}'{{ ", " if not loop.last }}{% endfor %}) then 1 else 0 end) as n_other_source_ids,
        max(resolved_night) as resolved_night
    from members
    group by customer_key
),
{%- for name, expr, order in picks %}

pick_{{ name }} as (
    select customer_key, value as {{ name }}
    from (
        select
            customer_key,
            {{ expr }} as value,
            row_number() over (
                partition by customer_key
                order by case source_name
                    {%- for s in order %} when '{{ s }}' then {{ loop.index }}{% endfor %} else 99 end,
                    node_rank
            ) as pick
        from members
        where {{ expr }} is not null
            and source_name in ({% for s in order %}'{{ s }}'{{ ", " if not loop.last }}{% endfor %})
    ) as ranked
    where pick = 1
),
{%- endfor %}

founders as (
    select k.customer_key, n.source_system, n.entity, n.source_id
    from {{ ref('int_identity__customer_keys') }} as k
    inner join {{ ref('int_identity__nodes') }} as n on n.node_id = k.founder_node_id
    {%- if customers_changed_only %}
    where k.customer_key in (select customer_key from summary)
    {%- endif %}
),

customers as (
    select
        s.customer_key,
        false as is_unknown,
        s.customer_type,
        coalesce(
            case when s.customer_type = 'business' then pick_company_name.company_name end,
            pick_person_name.person_name,
            pick_company_name.company_name
        ) as customer_name,
        pick_company_name.company_name,
        pick_email.email,
        pick_phone_e164.phone_e164,
        pick_city.city,
        pick_country.country,
        pick_vat_id.vat_id,
        pick_website_domain.website_domain,
        s.first_seen_at,
        f.source_system as founder_source_system,
        f.entity as founder_source_entity,
        f.source_id as founder_source_id,
        s.n_source_ids,
        s.n_crm_accounts,
        s.n_crm_contacts,
        s.n_crm_leads,
        s.n_erp_customers,
        s.n_helpdesk_requesters,
        s.n_calls,
        s.n_web_visitors,
        s.n_event_registrations,
        s.n_other_source_ids,
        s.resolved_night
    from summary as s
    left join founders as f on f.customer_key = s.customer_key
    {%- for name, expr, order in picks %}
    left join pick_{{ name }} on pick_{{ name }}.customer_key = s.customer_key
    {%- endfor %}
),

unknown as (
    select
        {{ core_unknown_key() }} as customer_key,
        true as is_unknown,
        'unknown' as customer_type,
        'Unknown customer' as customer_name,
        null as company_name, null as email, null as phone_e164, null as city, null as country,
        null as vat_id, null as website_domain,
        cast(null as {{ dbt.type_timestamp() }}) as first_seen_at,
        null as founder_source_system, null as founder_source_entity, null as founder_source_id,
        0 as n_source_ids, 0 as n_crm_accounts, 0 as n_crm_contacts, 0 as n_crm_leads, 0 as n_erp_customers,
        0 as n_helpdesk_requesters, 0 as n_calls, 0 as n_web_visitors, 0 as n_event_registrations, 0 as n_other_source_ids,
        cast(null as date) as resolved_night
),

final as (
    select * from customers
    {%- if not customers_changed_only %}
    union all
    select * from unknown
    {%- endif %}
)

select {{ core_contract_select('final') }}
from final
