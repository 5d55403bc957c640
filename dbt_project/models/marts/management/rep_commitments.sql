{#-
    Q19 ("three reps talked to this customer: what did each promise?"): one row per promise a rep
    made to a customer: the commitment noted on a CRM interaction (free text, e.g. "Agreed delivery
    within 2 weeks") and every quote (the price offered, its discount and validity). reps_promising
    counts the distinct reps with a promise to the same customer.
-#}
with customers as (
    select customer_key from {{ ref('dim_customer') }} where not is_unknown
),

employees as (
    select employee_id, role, is_employed from {{ ref('dim_employee') }}
),

as_of as (
    select {{ svc_as_of_date() }} as as_of_date
),

promises as (
    select
        'interaction_commitment' as commitment_kind,
        interaction_key as source_key,
        interaction_id as reference_id,
        customer_key,
        employee_id,
        occurred_at as committed_at,
        channel_code as channel,
        commitment as commitment_text,
        cast(null as numeric(18, 2)) as list_amount,
        cast(null as numeric(18, 2)) as quoted_amount,
        cast(null as numeric(18, 2)) as discount_amount,
        cast(null as {{ dbt.type_float() }}) as max_discount_pct,
        cast(null as date) as valid_until_date,
        cast(null as {{ dbt.type_string() }}) as quote_status,
        cast(null as {{ dbt.type_string() }}) as currency
    from {{ ref('fct_interactions') }}
    where commitment is not null and trim(commitment) <> ''
    union all
    select
        'quote', quote_id, quote_id, customer_key, employee_id, quoted_at, null, null,
        list_amount, quoted_amount, discount_amount, max_discount_pct, valid_until_date, quote_status, currency
    from {{ ref('fct_quotes') }}
),

kept as (
    select p.*
    from promises as p
    inner join customers as c on c.customer_key = p.customer_key
),

reps as (
    -- count(distinct) over a window is not portable (PostgreSQL): a grouped count instead
    select customer_key, count(distinct employee_id) as reps_promising
    from kept
    group by customer_key
),

final as (
    select
        {{ dbt.concat(["k.commitment_kind", "'|'", "k.source_key"]) }} as commitment_id,
        k.customer_key as customer_id,
        k.employee_id,
        e.role as employee_role,
        coalesce(e.is_employed, false) as is_employee_still_employed,
        k.commitment_kind,
        k.reference_id,
        k.committed_at,
        cast(k.committed_at as date) as committed_date,
        k.channel,
        k.commitment_text,
        k.list_amount,
        k.quoted_amount,
        k.discount_amount,
        k.max_discount_pct,
        k.valid_until_date,
        k.quote_status,
        k.currency,
        k.commitment_kind = 'quote' and k.quote_status = 'sent' and k.valid_until_date >= a.as_of_date as is_open_offer,
        r.reps_promising
    from kept as k
    cross join as_of as a
    inner join reps as r on r.customer_key = k.customer_key
    left join employees as e on e.employee_id = k.employee_id
)

select {{ core_contract_select('final') }}
from final
