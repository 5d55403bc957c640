{{ config(alias='dim_customer') }}
{#-
    core.dim_customer for BI tools: names, e-mail, phone, VAT id and web domain
    replaced by salted hashes (macro bi_mask), everything else as in core.
-#}
select
    customer_key,
    is_unknown,
    customer_type,
    {{ bi_mask("customer_name") }} as customer_name_hash,
    {{ bi_mask('company_name') }} as company_name_hash,
    {{ bi_mask('email', 'email') }} as email_hash,
    {{ bi_mask('phone_e164', 'phone') }} as phone_hash,
    city,
    country,
    {{ bi_mask('vat_id') }} as vat_id_hash,
    {{ bi_mask('website_domain') }} as website_domain_hash,
    first_seen_at,
    founder_source_system,
    founder_source_entity,
    founder_source_id,
    n_source_ids,
    n_crm_accounts,
    n_crm_contacts,
    n_crm_leads,
    n_erp_customers,
    n_helpdesk_requesters,
    n_calls,
    n_web_visitors,
    n_event_registrations,
    n_other_source_ids
from {{ ref('dim_customer') }}
