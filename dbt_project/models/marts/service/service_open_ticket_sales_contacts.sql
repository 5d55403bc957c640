{#-
    Q13 ("my purchase has an open problem and you keep selling to me"): one row per sales contact
    with a customer while one of their tickets was open (created, not yet solved; an open ticket
    counts to the end of the as-of day): outbound sales calls and follow-ups, quotes sent and
    campaign mailings. A contact during two open tickets appears once per ticket.
-#}
with tickets as (
    select ticket_id, customer_id, category, priority, created_at, resolved_at, is_open
    from {{ ref('service_tickets') }}
),

as_of as (
    select {{ svc_as_of_ts() }} as as_of_at
),

sales_contacts as (
    select
        'interaction' as contact_kind,
        interaction_key as contact_key,
        customer_key,
        occurred_at as contacted_at,
        employee_id,
        channel_code as channel,
        interaction_type as contact_type
    from {{ ref('fct_interactions') }}
    where direction = 'outbound' and interaction_type in ('sales_call', 'follow_up')
    union all
    select 'quote', quote_id, customer_key, quoted_at, employee_id, cast(null as {{ dbt.type_string() }}), quote_status
    from {{ ref('fct_quotes') }}
    union all
    select 'campaign_send', touch_key, customer_key, touched_at, cast(null as {{ dbt.type_string() }}), channel_code, campaign_id
    from {{ ref('fct_campaign_touches') }}
    where touch_type = 'send'
),

customers as (
    select customer_key from {{ ref('dim_customer') }} where not is_unknown
),

final as (
    select
        {{ dbt.concat(["t.ticket_id", "'|'", "s.contact_kind", "'|'", "s.contact_key"]) }} as open_ticket_contact_id,
        t.ticket_id,
        t.customer_id,
        t.category as ticket_category,
        t.priority as ticket_priority,
        t.created_at as ticket_created_at,
        t.resolved_at as ticket_resolved_at,
        t.is_open as is_ticket_open,
        s.contact_kind,
        s.contact_key,
        s.contact_type,
        s.contacted_at,
        s.employee_id,
        s.channel,
        {{ core_minutes_between('t.created_at', 's.contacted_at') }} / 1440.0 as days_into_ticket
    from tickets as t
    cross join as_of as a
    inner join customers as c on c.customer_key = t.customer_id
    inner join sales_contacts as s
        on s.customer_key = t.customer_id
        and s.contacted_at > t.created_at
        and s.contacted_at < coalesce(t.resolved_at, a.as_of_at)
)

select {{ core_contract_select('final') }}
from final
