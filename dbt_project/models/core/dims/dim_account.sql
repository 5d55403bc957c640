{#- CRM accounts (current attributes; history is in snp_crm__accounts), inferred members, unknown member. -#}
with accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

referenced as (
    {{ core_referenced_ids([
        ['stg_crm__contacts', 'account_id'],
        ['stg_crm__interactions', 'account_id'],
        ['stg_crm__leads', 'converted_account_id'],
        ['stg_erp__opportunities', 'crm_account_id'],
        ['stg_crm__accounts', 'referred_by_account_id'],
    ]) }}
),

members as (
    select
        account_id, account_name, account_type, industry, website, city, country,
        owner_employee_id, referred_by_account_id, created_at, updated_at, coalesce(is_deleted, false) as is_deleted,
        false as is_inferred, false as is_unknown
    from accounts

    union all

    select
        r.natural_id, null, null, null, null, null, null,
        null, null, null, null, false,
        true, false
    from referenced as r
    where not exists (select 1 from accounts as a where a.account_id = r.natural_id)

    union all

    select null, 'Unknown', null, null, null, null, null, null, null, null, null, false, false, true
),

final as (
    select
        {{ core_key(['account_id']) }} as account_key,
        {{ core_key(['owner_employee_id']) }} as owner_employee_key,
        {{ core_key(['referred_by_account_id']) }} as referred_by_account_key,
        *
    from members
)

select {{ core_contract_select('final') }}
from final
