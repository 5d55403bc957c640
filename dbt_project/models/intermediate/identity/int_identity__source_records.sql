{#-
    Every source id that stands for a customer or one of its people, with the identity
    attributes as delivered (normalised later in int_identity__nodes).
    record_role: customer_record = a master record of a company, consumer or person
    (CRM accounts/contacts/leads, ERP customers, helpdesk requesters, the customer ids of
    bring-your-own orders); touchpoint = a
    call, a web visitor or an event registration, which only joins a customer found
    through a customer_record and otherwise maps to the unknown customer.
-#}
with accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

contacts as (
    -- a contact's node carries its account's name, type and place: it changes when either record does
    select
        c.*, a.account_name, a.account_type, a.city as account_city, a.country as account_country,
        greatest(c._night, a._night) as node_night
    from {{ ref('stg_crm__contacts') }} as c
    left join accounts as a on a.account_id = c.account_id
),

web_visitors as (
    select
        visitor_id,
        max(visitor_email) as visitor_email,
        min(visited_at) as first_visited_at,
        max(_night) as _night
    from {{ ref('stg_crm__web_visits') }}
    where visitor_id is not null
    group by visitor_id
),

records as (
    select
        'crm' as source_system, 'accounts' as entity, account_id as source_id, 'customer_record' as record_role,
        case account_type when 'business' then 'business' when 'person' then 'consumer' end as party_type,
        created_at as first_seen_at,
        case when account_type = 'person' then account_name end as person_name,
        case when account_type is distinct from 'person' then account_name end as company_name,
        cast(null as {{ dbt.type_string() }}) as email,
        phone, website, cast(null as {{ dbt.type_string() }}) as vat_id, city, country, _night
    from accounts

    union all
    select
        'crm', 'contacts', contact_id, 'customer_record',
        case account_type when 'business' then 'business' when 'person' then 'consumer' end,
        created_at,
        {{ dbt.concat(["coalesce(first_name, '')", "' '", "coalesce(last_name, '')"]) }},
        case when account_type = 'business' then account_name end,
        email, phone, null, null, account_city, account_country, node_night
    from contacts

    union all
    select
        'crm', 'leads', lead_id, 'customer_record',
        case when company is not null then 'business' else 'consumer' end,
        created_at,
        {{ dbt.concat(["coalesce(first_name, '')", "' '", "coalesce(last_name, '')"]) }},
        company, email, phone, null, null, null, null, _night
    from {{ ref('stg_crm__leads') }}

    union all
    select
        'erp', 'customers', customer_id, 'customer_record',
        case customer_type when 'business' then 'business' when 'consumer' then 'consumer' end,
        created_at,
        case when customer_type = 'consumer' then customer_name end,
        case when customer_type is distinct from 'consumer' then customer_name end,
        email, phone, null, vat_id, city, country, _night
    from {{ ref('stg_erp__customers') }}

    union all
    select
        'helpdesk', 'requesters', requester_id, 'customer_record',
        case when organization is not null then 'business' else 'consumer' end,
        created_at, full_name, organization, email, phone, null, null, null, null, _night
    from {{ ref('stg_helpdesk__requesters') }}

    union all
    -- bring-your-own systems: the customer ids their orders name (no attributes to match on)
    select
        _source_system, 'customers', customer_id, 'customer_record', null,
        cast(min(order_date) as {{ dbt.type_timestamp() }}), null, null, null, null, null, null, null, null, max(_night)
    from {{ ref('stg_byod__orders') }}
    group by _source_system, customer_id

    union all
    select
        'callcenter', 'calls', call_id, 'touchpoint', null,
        started_at, null, null, null, caller_phone, null, null, null, null, _night
    from {{ ref('stg_callcenter__calls') }}

    union all
    select
        'crm', 'web_visits', visitor_id, 'touchpoint', null,
        first_visited_at, null, null, visitor_email, null, null, null, null, null, _night
    from web_visitors

    union all
    select
        'crm', 'event_registrations', registration_id, 'touchpoint', null,
        registered_at, null, null, email, null, null, null, null, null, _night
    from {{ ref('stg_crm__event_registrations') }}
)

select
    {{ dbt.concat(["source_system", "':'", "entity", "':'", "source_id"]) }} as node_id,
    source_system,
    entity,
    source_id,
    record_role,
    party_type,
    first_seen_at,
    nullif(trim(person_name), '') as person_name,
    company_name,
    email,
    phone,
    website,
    vat_id,
    city,
    country,
    _night as night
from records
