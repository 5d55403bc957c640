{{ config(materialized='table') }}
{#-
    The touches whose marts.marketing_campaign_followup row a night rebuilds
    (macros/marts/customer_incremental.sql): touches of customers whose touches, interactions,
    orders, key or employees changed (int_account_timeline__changed_customers, when it was
    computed for the same watermark; else every touch), of customers with a changed opportunity
    (any version's ERP customer), of campaigns with a new version, and touches whose stored lead
    columns differ from sales_leads now (a lead's funnel moves with facts of its own).
-#}
-- depends_on: {{ ref('stg_crm__campaigns') }}
-- depends_on: {{ ref('snp_erp__opportunities') }}
-- depends_on: {{ ref('bridge_customer_source_id') }}
-- depends_on: {{ ref('sales_leads') }}
{%- set built = mart_built_relation('marketing_campaign_followup') if execute else none -%}
{%- set timeline_customers = ref('int_account_timeline__changed_customers') -%}
{%- set changed_touches %}
        select t.touch_key
        from {{ ref('fct_campaign_touches') }} as t
        where
            -- the timeline's list is for the state this mart was built from: else every touch
            (select max(mart_watermark) from {{ timeline_customers }}) is distinct from {{ core_watermark(built) }}
            or t.customer_key in (select customer_id from {{ timeline_customers }} where customer_id is not null)
            or t.customer_key in (
                select b.customer_key
                from {{ ref('snp_erp__opportunities') }} as o
                inner join {{ ref('bridge_customer_source_id') }} as b
                    on b.source_system = 'erp' and b.source_entity = 'customers' and b.source_id = o.customer_id
                where o.opportunity_id in (
                    select opportunity_id from {{ ref('snp_erp__opportunities') }}
                    where {{ core_loaded_since_last_run('_night', built) }}
                )
            )
            or t.campaign_id in (
                select campaign_id from {{ ref('stg_crm__campaigns') }} where {{ core_loaded_since_last_run('_night', built) }}
            )
            or t.touch_key in (
                select stored.touch_key
                from {{ built }} as stored
                left join {{ ref('sales_leads') }} as l on l.lead_id = stored.lead_id
                where stored.lead_id is not null and (
                    stored.lead_status is distinct from l.lead_status
                    or stored.lead_funnel_stage is distinct from l.funnel_stage
                    or stored.lead_score is distinct from l.lead_score
                    or stored.is_real_prospect is distinct from l.is_real_prospect
                    or stored.lead_reached_contact is distinct from l.reached_contact
                    or stored.lead_reached_opportunity is distinct from l.reached_opportunity
                    or stored.lead_reached_won is distinct from l.reached_won
                    or stored.lead_became_customer is distinct from l.became_customer
                )
            )
{%- endset %}
{{ mart_changed_list(built, 'touch_key', changed_touches) }}
