{{ config(unique_key='quote_line_id') }}
{#- One row per quote line: list vs quoted unit price (price dispersion, Q3/Q12), with the quote's customer, rep and date. -#}
with lines as (
    select * from {{ ref('stg_erp__quote_lines') }}
    {{ core_incremental_filter('quote_id', [['stg_erp__quotes', 'quote_id'], ['stg_erp__quote_lines', 'quote_id']]) }}
),

quotes as (
    select * from {{ ref('stg_erp__quotes') }}
),

prepared as (
    select
        l.quote_line_id,
        l.quote_id,
        l.product_id,
        q.customer_id,
        q.employee_id,
        q.opportunity_id,
        q.status as quote_status,
        q.currency,
        q.quoted_at,
        l.quantity,
        l.list_price,
        l.unit_price,
        l.discount_pct,
        l.quantity * l.list_price as list_amount,
        l.quantity * l.unit_price as quoted_amount,
        case when l.list_price > 0 then cast(l.unit_price as double precision) / cast(l.list_price as double precision) end as price_to_list_ratio,
        q.quote_id is not null as has_quote_header,
        'erp' as customer_source_system,
        'customers' as customer_source_entity,
        q.customer_id as customer_source_id,
        case when q._night > l._night then q._night else l._night end as source_night
    from lines as l
    left join quotes as q on q.quote_id = l.quote_id
),

final as (
    select
        p.*,
        {{ core_key(['p.product_id']) }} as product_key,
        {{ core_key(['p.employee_id']) }} as employee_key,
        {{ core_date_key('p.quoted_at') }} as quoted_date_key,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
