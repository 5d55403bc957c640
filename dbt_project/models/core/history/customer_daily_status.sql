{{ config(
    unique_key='daily_status_key',
    post_hook="delete from {{ this }} where date_day < {{ core_history_start_date(ref('snp_erp__customers')) }}",
) }}
{#-
    One row per customer record (ERP customer or CRM account) and day, with the
    attributes of the version current at the end of that day (snapshots
    snp_erp__customers, snp_crm__accounts), Fivetran daily-history style. Days run
    from the first version to the as-of day, capped at var core_history_days.
    Incremental: a night adds only the new days, except for records with a new
    version since the last run (or a changed customer key), which are redone over the
    whole horizon, since a version may start in the past. Days that fall out of the
    horizon are deleted (post-hook).
-#}
{%- set end_date = core_history_end_date(ref('snp_erp__customers')) -%}
{%- set start_date = core_history_start_date(ref('snp_erp__customers')) -%}
with versions as (
    select
        'erp' as customer_source_system,
        'customers' as customer_source_entity,
        customer_id as customer_source_id,
        customer_type as party_type,
        territory_id,
        city,
        country,
        false as is_deleted,
        created_at,
        dbt_scd_id,
        dbt_valid_from,
        dbt_valid_to,
        _night
    from {{ ref('snp_erp__customers') }}

    union all

    select
        'crm', 'accounts', account_id,
        case account_type when 'person' then 'consumer' else account_type end,
        null, city, country, coalesce(is_deleted, false), created_at,
        dbt_scd_id, dbt_valid_from, dbt_valid_to, _night
    from {{ ref('snp_crm__accounts') }}
),

{%- if is_incremental() %}
redo as (
    select distinct customer_source_system, customer_source_entity, customer_source_id
    from versions
    where {{ core_loaded_since_last_run() }}
    union
    select f.customer_source_system, f.customer_source_entity, f.customer_source_id
    from {{ this }} as f
    {{ core_customer_join('f', 'rekey_bridge') }}
    where {{ core_customer_key('rekey_bridge') }} <> f.customer_key
),
{%- endif %}

days as (
    select date_day, date_key
    from {{ ref('dim_date') }}
    where date_day >= {{ start_date }} and date_day <= {{ end_date }}
),

daily as (
    select
        d.date_day,
        d.date_key,
        v.*
    from versions as v
    inner join days as d
        on d.date_day >= cast(v.dbt_valid_from as date)
        and (v.dbt_valid_to is null or d.date_day < cast(v.dbt_valid_to as date))
    {%- if is_incremental() %}
    where d.date_day > (select max(date_day) from {{ this }})
        or exists (
            select 1 from redo as r
            where r.customer_source_system = v.customer_source_system
                and r.customer_source_entity = v.customer_source_entity
                and r.customer_source_id = v.customer_source_id
        )
    {%- endif %}
),

final as (
    select
        y.*,
        {{ core_key(['y.customer_source_system', 'y.customer_source_entity', 'y.customer_source_id', 'y.date_day']) }} as daily_status_key,
        cast({{ dbt.datediff('cast(y.created_at as date)', 'y.date_day', 'day') }} as integer) as days_since_created,
        cast(y.dbt_valid_from as date) = y.date_day as is_changed_on_day,
        y._night as source_night,
        {{ core_customer_key() }} as customer_key
    from daily as y
    {{ core_customer_join('y') }}
)

select {{ core_contract_select('final') }}
from final
