{{ config(unique_key='stage_change_id') }}
{#-
    One row per opportunity stage change, in order per opportunity (sequence number,
    time in the previous stage). Every change of an opportunity is recomputed when any
    of them or the opportunity itself arrives, so late and out-of-order changes re-sequence.
-#}
with changes as (
    select * from {{ ref('stg_erp__opportunity_stage_history') }}
    {{ core_incremental_filter('opportunity_id', [['stg_erp__opportunities', 'opportunity_id'], ['stg_erp__opportunity_stage_history', 'opportunity_id']]) }}
),

opportunities as (
    select * from {{ ref('stg_erp__opportunities') }}
),

sequenced as (
    select
        c.*,
        row_number() over (partition by c.opportunity_id order by c.changed_at, c.stage_change_id) as change_sequence,
        lag(c.changed_at) over (partition by c.opportunity_id order by c.changed_at, c.stage_change_id) as previous_changed_at
    from changes as c
),

prepared as (
    select
        s.stage_change_id,
        s.opportunity_id,
        o.opportunity_name,
        s.from_stage,
        s.to_stage,
        s.amount,
        o.amount as opportunity_amount,
        s.changed_by,
        o.owner_employee_id,
        o.campaign_id,
        o.crm_account_id,
        s.changed_at,
        s.change_sequence,
        {{ core_minutes_between('s.previous_changed_at', 's.changed_at') }} / 1440.0 as days_in_previous_stage,
        s.to_stage = 'closed_won' as is_won,
        s.to_stage = 'closed_lost' as is_lost,
        case when o.customer_id is not null then 'erp' when o.crm_account_id is not null then 'crm' end as customer_source_system,
        case when o.customer_id is not null then 'customers' when o.crm_account_id is not null then 'accounts' end as customer_source_entity,
        coalesce(o.customer_id, o.crm_account_id) as customer_source_id,
        case when o._night > s._night then o._night else s._night end as source_night
    from sequenced as s
    left join opportunities as o on o.opportunity_id = s.opportunity_id
),

final as (
    select
        p.*,
        {{ core_key(['p.changed_by']) }} as changed_by_employee_key,
        {{ core_key(['p.owner_employee_id']) }} as owner_employee_key,
        {{ core_key(['p.campaign_id']) }} as campaign_key,
        {{ core_key(['p.crm_account_id']) }} as account_key,
        {{ core_date_key('p.changed_at') }} as changed_date_key,
        {{ core_customer_key() }} as customer_key
    from prepared as p
    {{ core_customer_join('p') }}
)

select {{ core_contract_select('final') }}
from final
