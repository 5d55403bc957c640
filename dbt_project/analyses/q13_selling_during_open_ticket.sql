-- Q13: My purchase has an open problem and you keep selling to me (sales contact while a ticket is open).
select
    customer_id,
    ticket_id,
    ticket_category,
    ticket_created_at,
    is_ticket_open,
    contact_kind,
    contact_type,
    contacted_at,
    employee_id,
    round(days_into_ticket, 1) as days_into_ticket
from {{ ref('service_open_ticket_sales_contacts') }}
order by contacted_at desc
