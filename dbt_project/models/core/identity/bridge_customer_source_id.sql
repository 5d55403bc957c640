{{ config(
    materialized='incremental',
    schema='core',
    incremental_strategy='delete+insert',
    unique_key=['source_system', 'source_entity', 'source_id'],
    on_schema_change='append_new_columns',
    pre_hook="{{ mart_forget_build_without('resolved_night') }}"
) }}
{#-
    Every source id that stands for a customer or touches one -> its customer_key.
    Facts find their customer here by (source_system, source_entity, source_id), e.g.
    ERP orders by ('erp', 'customers', customer_id); see macros/core/core_keys.sql.

    Incremental: a row changes only when its record's component was labelled again (a new or
    reloaded record, changed links or reasons, a merge or split: int_identity__components), so a
    night recomputes the ids labelled since this table's last run (resolved_night). Source ids
    are never removed from the identity records, so no row has to go.
-#}
{%- set reason_priority = ['founder', 'vat_id', 'email', 'phone', 'contact_account', 'lead_conversion',
    'erp_opportunity_account', 'ticket_order_customer', 'call_ticket_requester', 'registration_contact',
    'website_domain', 'email_domain', 'name+company', 'company_name+city', 'name+city'] %}
{%- set resolved_changed_only = mart_is_incremental('resolved_night') %}
with component_keys as (
    select * from {{ ref('int_identity__component_keys') }}
    {%- if resolved_changed_only %}
    where {{ core_loaded_since_last_run('resolved_night', watermark_column='resolved_night') }}
    {%- endif %}
),

nodes as (
    select * from {{ ref('int_identity__nodes') }}
    {%- if resolved_changed_only %}
    where node_id in (select node_id from component_keys)
    {%- endif %}
),

founders as (
    select founder_node_id, customer_key from {{ ref('int_identity__customer_keys') }}
),

links as (
    select node_id_a as node_id, match_reason from {{ ref('int_identity__links') }}
    {%- if resolved_changed_only %}
    where node_id_a in (select node_id from nodes)
    {%- endif %}
    union
    select node_id_b, match_reason from {{ ref('int_identity__links') }}
    {%- if resolved_changed_only %}
    where node_id_b in (select node_id from nodes)
    {%- endif %}
),

reasons as (
    -- the links that tie each source id to its customer, strongest first
    select
        l.node_id,
        l.match_reason,
        case l.match_reason
            {%- for reason in reason_priority %}
            when '{{ reason }}' then {{ loop.index }}
            {%- endfor %}
            else 99
        end as reason_order
    from links as l
),

node_reasons as (
    -- one pass per node: its strongest reason (lowest order) and the set of its listed reasons
    -- as a sum of distinct powers of two (a node has each reason once: links is a union); an
    -- ordered listagg here cost 13 s of 19 at scale l, sorting every node's reasons
    select
        node_id,
        min(reason_order) as best_reason_order,
        sum(case reason_order
            {%- for reason in reason_priority %}
            when {{ loop.index }} then {{ 2 ** loop.index0 }}
            {%- endfor %}
            else 0
        end) as listed_reasons
    from reasons
    group by node_id
),

unlisted_reasons as (
    -- reasons outside the list (a project extension's own link rules): listed by name
    select
        node_id,
        min(match_reason) as best_unlisted_reason,
        {{ dbt.listagg('match_reason', "','", 'order by match_reason') }} as unlisted_reasons
    from reasons
    where reason_order = 99
    group by node_id
),

best_reason as (
    select
        r.node_id,
        case r.best_reason_order
            {%- for reason in reason_priority %}
            when {{ loop.index }} then '{{ reason }}'
            {%- endfor %}
            else u.best_unlisted_reason
        end as match_reason,
        -- the listed reasons by name, then the unlisted ones; a leading comma is cut
        substr(
            {%- for reason in reason_priority | sort %}
            {%- set bit = 2 ** reason_priority.index(reason) %}
            case when r.listed_reasons % {{ 2 * bit }} >= {{ bit }} then ',{{ reason }}' else '' end ||
            {%- endfor %}
            coalesce({{ dbt.concat(["','", "u.unlisted_reasons"]) }}, ''),
            2
        ) as match_reasons
    from node_reasons as r
    left join unlisted_reasons as u on u.node_id = r.node_id
),

latest_assignment as (
    select node_id, matched_at
    from (
        select node_id, matched_at,
            row_number() over (partition by node_id order by matched_at desc, assignment_seq desc) as recency
        from {{ ref('int_identity__key_assignments') }}
        {%- if resolved_changed_only %}
        where node_id in (select node_id from nodes)
        {%- endif %}
    ) as a
    where recency = 1
),

final as (
    select
        ck.customer_key,
        n.source_system,
        n.entity as source_entity,
        n.source_id,
        n.record_role,
        case
            when ck.customer_key = {{ core_unknown_key() }} then 'unresolved'
            when f.founder_node_id is not null then 'founder'
            else coalesce(b.match_reason, 'founder')
        end as match_reason,
        b.match_reasons,
        f.founder_node_id is not null as is_key_founder,
        n.first_seen_at,
        la.matched_at,
        ck.resolved_night
    from nodes as n
    inner join component_keys as ck on ck.node_id = n.node_id
    left join founders as f on f.founder_node_id = n.node_id and f.customer_key = ck.customer_key
    left join best_reason as b on b.node_id = n.node_id
    left join latest_assignment as la on la.node_id = n.node_id
)

select {{ core_contract_select('final') }}
from final
