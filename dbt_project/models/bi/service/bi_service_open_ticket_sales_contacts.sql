{{ config(alias='service_open_ticket_sales_contacts') }}
-- marts.service_open_ticket_sales_contacts for BI tools: it holds no personal data, column for column.
select
    open_ticket_contact_id,
    ticket_id,
    customer_id,
    ticket_category,
    ticket_priority,
    ticket_created_at,
    ticket_resolved_at,
    is_ticket_open,
    contact_kind,
    contact_key,
    contact_type,
    contacted_at,
    employee_id,
    channel,
    days_into_ticket
from {{ ref('service_open_ticket_sales_contacts') }}
