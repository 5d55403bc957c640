{#-
    Links the sources state themselves: a record that points at another system's or
    entity's id. One row per (node_id_a, node_id_b, match_reason); both ends exist in
    int_identity__nodes (checked in int_identity__links). Disabled with
    --vars '{identity_use_reference_links: false}' to measure the attribute rules alone.
-#}
{%- set enabled = var('identity_use_reference_links', true) %}
with links as (
    -- a contact belongs to its account
    select
        {{ dbt.concat(["'crm:contacts:'", "contact_id"]) }} as node_id_a,
        {{ dbt.concat(["'crm:accounts:'", "account_id"]) }} as node_id_b,
        'contact_account' as match_reason
    from {{ ref('stg_crm__contacts') }}
    where account_id is not null

    union all
    -- a converted lead names the contact and the account it became
    select
        {{ dbt.concat(["'crm:leads:'", "lead_id"]) }},
        {{ dbt.concat(["'crm:contacts:'", "converted_contact_id"]) }},
        'lead_conversion'
    from {{ ref('stg_crm__leads') }}
    where converted_contact_id is not null

    union all
    select
        {{ dbt.concat(["'crm:leads:'", "lead_id"]) }},
        {{ dbt.concat(["'crm:accounts:'", "converted_account_id"]) }},
        'lead_conversion'
    from {{ ref('stg_crm__leads') }}
    where converted_account_id is not null

    union all
    -- an ERP opportunity created from the CRM carries both the ERP customer and the CRM account
    select distinct
        {{ dbt.concat(["'erp:customers:'", "customer_id"]) }},
        {{ dbt.concat(["'crm:accounts:'", "crm_account_id"]) }},
        'erp_opportunity_account'
    from {{ ref('stg_erp__opportunities') }}
    where customer_id is not null and crm_account_id is not null

    union all
    -- a ticket about an ERP order: the requester belongs to the ordering customer
    select distinct
        {{ dbt.concat(["'helpdesk:requesters:'", "t.requester_id"]) }},
        {{ dbt.concat(["'erp:customers:'", "o.customer_id"]) }},
        'ticket_order_customer'
    from {{ ref('stg_helpdesk__tickets') }} as t
    inner join {{ ref('stg_erp__orders') }} as o on o.order_id = t.order_id

    union all
    -- a call logged on a ticket comes from the ticket's requester
    select
        {{ dbt.concat(["'callcenter:calls:'", "c.call_id"]) }},
        {{ dbt.concat(["'helpdesk:requesters:'", "t.requester_id"]) }},
        'call_ticket_requester'
    from {{ ref('stg_callcenter__calls') }} as c
    inner join {{ ref('stg_helpdesk__tickets') }} as t on t.ticket_id = c.ticket_id

    union all
    -- an event registration matched to a contact by the CRM
    select
        {{ dbt.concat(["'crm:event_registrations:'", "registration_id"]) }},
        {{ dbt.concat(["'crm:contacts:'", "contact_id"]) }},
        'registration_contact'
    from {{ ref('stg_crm__event_registrations') }}
    where contact_id is not null
)

select node_id_a, node_id_b, match_reason
from links
{%- if not enabled %}
where 1 = 0
{%- endif %}
