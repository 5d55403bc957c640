{#-
    Q18 ("the rep who handled this account resigned; the customer arrives in 30 minutes"): one row
    per event in a customer's history across people and channels: orders, quotes, interactions
    (every channel, incl. call-center calls), ticket events, campaign touches and field visits, with
    who (employee and their role/department) and which channel, numbered in time order per customer.
    Events of records the identity bridge could not resolve (the unknown customer) are left out.

    Incremental by customer (macros/marts/customer_incremental.sql): a night rebuilds, whole, the
    timelines of int_account_timeline__changed_customers (event_sequence numbers a customer's
    whole history).
-#}
-- depends_on: {{ ref('int_account_timeline__changed_customers') }}
-- after the followup's list, which reads this mart's list (emptied by this mart's post-hook)
-- depends_on: {{ ref('int_marketing_campaign_followup__changed_touches') }}
{{ mart_incremental_config('int_account_timeline__changed_customers', 'customer_id') }}

with customers as (
    select customer_key from {{ ref('dim_customer') }} where not is_unknown
),

changed_customers as (
    select customer_key from customers
    {%- if mart_is_incremental() %}
    where customer_key in (select customer_id from {{ ref('int_account_timeline__changed_customers') }})
    {%- endif %}
),

employees as (
    select employee_id, role, department_code, is_employed from {{ ref('dim_employee') }}
),

ticket_channels as (
    select ticket_id, channel_code, source_night from {{ ref('fct_tickets') }}
),

events as (
    select
        'order' as event_kind,
        order_key as event_key,
        customer_key,
        cast(order_date as timestamp) as event_at,
        order_status as event_type,
        order_id as reference_id,
        employee_id,
        cast(null as {{ dbt.type_string() }}) as department_code,
        sales_channel_code as channel,
        cast(null as {{ dbt.type_string() }}) as direction,
        cast(revenue as {{ dbt.type_float() }}) as amount,
        currency,
        order_status as event_status,
        cast(null as {{ dbt.type_string() }}) as detail,
        source_night
    from {{ ref('fct_orders') }}
    union all
    select
        'quote', quote_id, customer_key, quoted_at, 'quote', quote_id, employee_id, null, null, 'outbound',
        cast(quoted_amount as {{ dbt.type_float() }}), currency, quote_status, null, source_night
    from {{ ref('fct_quotes') }}
    union all
    select
        'interaction', interaction_key, customer_key, occurred_at, interaction_type, interaction_id, employee_id, null,
        channel_code, direction, null, null, outcome, commitment, source_night
    from {{ ref('fct_interactions') }}
    union all
    select
        'ticket_event', e.event_id, e.customer_key, e.occurred_at, e.event_type, e.ticket_id, e.agent_id, e.department_code,
        case when e.event_type = 'created' then c.channel_code end, case when e.event_type = 'created' then 'inbound' end,
        null, null, e.to_status, null,
        case when c.source_night > e.source_night then c.source_night else e.source_night end
    from {{ ref('fct_ticket_events') }} as e
    left join ticket_channels as c on c.ticket_id = e.ticket_id
    union all
    select
        'campaign_touch', touch_key, customer_key, touched_at, touch_type, campaign_id, null, department_code,
        channel_code, 'outbound', null, null, touch_status, null, source_night
    from {{ ref('fct_campaign_touches') }}
    union all
    select
        'field_visit', visit_id, customer_key, coalesce(arrived_at, scheduled_at, requested_at), visit_status, ticket_id,
        technician_id, 'field_service', 'on_site', 'outbound', null, null, visit_status, null, source_night
    from {{ ref('fct_field_visits') }}
),

final as (
    select
        {{ dbt.concat(["e.event_kind", "'|'", "e.event_key"]) }} as timeline_event_id,
        e.customer_key as customer_id,
        row_number() over (
            partition by e.customer_key order by e.event_at, e.event_kind, e.event_key
        ) as event_sequence,
        e.event_at,
        cast(e.event_at as date) as event_date,
        e.event_kind,
        e.event_type,
        e.event_status,
        e.reference_id,
        e.employee_id,
        emp.role as employee_role,
        coalesce(e.department_code, emp.department_code) as department_code,
        coalesce(emp.is_employed, false) as is_employee_still_employed,
        e.channel,
        e.direction,
        e.amount,
        e.currency,
        e.detail,
        e.source_night
    from events as e
    inner join changed_customers as c on c.customer_key = e.customer_key
    left join employees as emp on emp.employee_id = e.employee_id
    where e.event_at is not null
)

select {{ core_contract_select('final') }}
from final
