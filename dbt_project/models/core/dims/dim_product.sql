{#- ERP products (current attributes; price history is in snp_erp__products), inferred members, unknown member. -#}
with products as (
    select * from {{ ref('stg_erp__products') }}
),

referenced as (
    {{ core_referenced_ids([
        ['stg_erp__order_lines', 'product_id'],
        ['stg_erp__quote_lines', 'product_id'],
        ['stg_helpdesk__tickets', 'product_id'],
        ['stg_helpdesk__service_contracts', 'product_id'],
        ['stg_crm__web_visits', 'product_id'],
    ]) }}
),

members as (
    select
        product_id, sku, product_name, category, is_service, list_price, unit_cost, currency, is_active,
        updated_at, false as is_inferred, false as is_unknown
    from products

    union all

    select
        r.natural_id, null, null, null, null, null, null, null, null,
        null, true, false
    from referenced as r
    where not exists (select 1 from products as p where p.product_id = r.natural_id)

    union all

    select null, null, 'Unknown', null, null, null, null, null, null, null, false, true
),

final as (
    select {{ core_key(['product_id']) }} as product_key, *
    from members
)

select {{ core_contract_select('final') }}
from final
