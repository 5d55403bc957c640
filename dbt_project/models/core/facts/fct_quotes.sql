{{ config(unique_key='quote_id') }}
{#- One row per ERP quote with its lines summed (list amount, quoted amount, discount). -#}
with quotes as (
    select * from {{ ref('stg_erp__quotes') }}
    {{ core_incremental_filter('quote_id', [['stg_erp__quotes', 'quote_id'], ['stg_erp__quote_lines', 'quote_id']]) }}
),

lines as (
    select
        quote_id,
        count(*) as line_count,
        sum(quantity * list_price) as list_amount,
        sum(quantity * unit_price) as quoted_amount,
        max(discount_pct) as max_discount_pct,
        max(_night) as line_night
    from {{ ref('stg_erp__quote_lines') }}
    where quote_id in (select quote_id from quotes)
    group by quote_id
),

prepared as (
    select
        q.quote_id,
        q.opportunity_id,
        q.customer_id,
        q.employee_id,
        q.status as quote_status,
        q.currency,
        q.quoted_at,
        q.valid_until_date,
        coalesce(l.line_count, 0) as line_count,
        l.list_amount,
        l.quoted_amount,
        l.list_amount - l.quoted_amount as discount_amount,
        l.max_discount_pct,
        q.status = 'accepted' as is_accepted,
        'erp' as customer_source_system,
        'customers' as customer_source_entity,
        q.customer_id as customer_source_id,
        case when l.line_night > q._night then l.line_night else q._night end as source_night
    from quotes as q
    left join lines as l on l.quote_id = q.quote_id
),

final as (
    select
        p.*,
        {{ core_key(['p.employee_id']) }} as employee_key,
        {{ core_date_key('p.quoted_at') }} as quoted_date_key,
        {{ core_date_key('p.valid_until_date') }} as valid_until_date_key,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
