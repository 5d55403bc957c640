{{ config(materialized='table') }}
{#-
    One row per source id with its match keys (macros/identity/identity_normalize.sql)
    and its rank: customer records before touchpoints, then earliest first_seen_at,
    then node_id. The lowest rank of a connected component is its anchor, the record
    that founds its customer_key.
-#}
with records as (
    select * from {{ ref('int_identity__source_records') }}
),

normalised as (
    select
        node_id,
        source_system,
        entity,
        source_id,
        record_role,
        party_type,
        first_seen_at,
        night,
        person_name,
        company_name,
        city,
        upper(trim(country)) as country,
        {{ identity_email('email') }} as email_norm,
        {{ identity_phone_e164('phone', 'country') }} as phone_e164,
        {{ identity_person_name('person_name') }} as person_name_norm,
        {{ identity_company_name('company_name') }} as company_name_norm,
        {{ identity_clean_words('city') }} as city_norm,
        {{ identity_vat_id('vat_id') }} as vat_id_norm,
        {{ identity_website_domain('website') }} as website_domain
    from records
)

select
    *,
    case
        when email_norm is not null and not {{ identity_is_freemail(identity_email_domain('email_norm')) }}
            then {{ identity_email_domain('email_norm') }}
    end as email_domain,
    row_number() over (
        order by case record_role when 'customer_record' then 0 else 1 end, first_seen_at nulls last, node_id
    ) as node_rank
from normalised
