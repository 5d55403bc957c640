{{ config(
    materialized='incremental',
    unique_key='node_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ identity_rank_new_nodes() }}"
) }}
{#-
    One row per source id with its match keys (macros/identity/identity_normalize.sql)
    and its rank (macros/identity/identity_node_rank.sql): customer records before touchpoints, then
    earliest first_seen_at, then node_id. The lowest rank of a connected component is
    its anchor, the record that founds its customer_key.

    Incremental: only the records staged since the last run (night, the later of a
    contact's and its account's) are normalised again; the post-hook then ranks the
    rows again where a new or changed record moved them (usually only the new ones).
-#}
with records as (
    select * from {{ ref('int_identity__source_records') }}
    {%- if is_incremental() %}
    where {{ core_loaded_since_last_run('night', watermark_column='night') }}
    {%- endif %}
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
    {%- if is_incremental() %}
    -- ranked by the post-hook, among all rows
    cast(null as {{ dbt.type_bigint() }}) as node_rank
    {%- else %}
    {{ identity_node_rank() }} as node_rank
    {%- endif %}
from normalised
