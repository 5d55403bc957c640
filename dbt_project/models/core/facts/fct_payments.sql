{{ config(unique_key='payment_id') }}
{#- One row per ERP payment, with its order and customer. -#}
with payments as (
    select * from {{ ref('stg_erp__payments') }}
    {{ core_incremental_filter('payment_id', [['stg_erp__payments', 'payment_id']]) }}
),

prepared as (
    select
        payment_id,
        order_id,
        customer_id,
        amount,
        currency,
        method,
        paid_at,
        'erp' as customer_source_system,
        'customers' as customer_source_entity,
        customer_id as customer_source_id,
        _night as source_night
    from payments
),

final as (
    select
        p.*,
        {{ core_key(["'erp'", 'p.order_id']) }} as order_key,
        {{ core_date_key('p.paid_at') }} as paid_date_key,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
