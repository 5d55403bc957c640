{{ config(materialized='table') }}
{#-
    The customers whose marts.account_timeline a night rebuilds (macros/marts/customer_incremental.sql):
    a new or changed event (and the customer it was stored under before), a changed key, an
    employee with a new version. A table: computed once, before the mart changes, then read by
    the mart's pre-hook and by the mart (and by int_marketing_campaign_followup__changed_touches).
-#}
{%- set built = mart_built_relation('account_timeline') if execute else none -%}
{%- set changed_customers = mart_changed_customers(
    built,
    facts=[
        ['fct_orders', dbt.concat(["'order'", "'|'", 'order_key'])],
        ['fct_quotes', dbt.concat(["'quote'", "'|'", 'quote_id'])],
        ['fct_interactions', dbt.concat(["'interaction'", "'|'", 'interaction_key'])],
        ['fct_ticket_events', dbt.concat(["'ticket_event'", "'|'", 'event_id'])],
        ['fct_campaign_touches', dbt.concat(["'campaign_touch'", "'|'", 'touch_key'])],
        ['fct_field_visits', dbt.concat(["'field_visit'", "'|'", 'visit_id'])],
        ['fct_tickets', none],
    ],
    row_id_column='timeline_event_id',
    dimension_facts=[
        ['fct_orders', 'employee_id', 'stg_erp__employees', 'employee_id'],
        ['fct_quotes', 'employee_id', 'stg_erp__employees', 'employee_id'],
        ['fct_interactions', 'employee_id', 'stg_erp__employees', 'employee_id'],
        ['fct_ticket_events', 'agent_id', 'stg_erp__employees', 'employee_id'],
        ['fct_field_visits', 'technician_id', 'stg_erp__employees', 'employee_id'],
    ],
) -%}
{{ mart_changed_list(built, 'customer_id', changed_customers) }}
