{{ config(alias='staff_scorecard') }}
-- marts.staff_scorecard for BI tools: personal data and free text full_name replaced by salted hashes (macro bi_mask).
select
    employee_id,
    {{ bi_mask('full_name') }} as full_name_hash,
    role,
    employee_type,
    department_code,
    is_employed,
    tickets_touched,
    ticket_touch_minutes,
    tickets_assigned,
    open_tickets_assigned,
    tickets_resolved,
    sla_breached_tickets,
    sla_breach_rate,
    avg_satisfaction_score,
    interaction_count,
    outbound_contact_count,
    inbound_requests,
    inbound_requests_answered_in_sla,
    quote_count,
    accepted_quote_count,
    quote_acceptance_rate,
    order_count,
    order_revenue,
    visit_count,
    first_time_fix_rate
from {{ ref('staff_scorecard') }}
