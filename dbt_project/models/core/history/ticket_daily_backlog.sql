{{ config(
    unique_key='backlog_key',
    pre_hook="{{ core_backlog_forget_redone_tickets() }}",
    post_hook="delete from {{ this }} where date_day < {{ core_history_start_date(ref('snp_helpdesk__tickets')) }}",
) }}
{#-
    One row per helpdesk ticket and day it was open at the end of the day (Q17
    backlog), with the status, priority, assignee and department of the version
    current then (snapshot snp_helpdesk__tickets). Before the first captured version
    (tickets older than the warehouse) the ticket counts as open from created_at until
    its solved_at, with the first version's attributes (is_status_inferred). Capped at
    var core_history_days; incremental like customer_daily_status. A ticket with a new
    version is redone over the whole horizon: its old rows are deleted first
    (pre-hook), since a day it was open may no longer be one.
-#}
{%- set end_date = core_history_end_date(ref('snp_helpdesk__tickets')) -%}
{%- set start_date = core_history_start_date(ref('snp_helpdesk__tickets')) -%}
with snapshot_versions as (
    select
        *,
        row_number() over (partition by ticket_id order by dbt_valid_from) as version_number
    from {{ ref('snp_helpdesk__tickets') }}
),

versions as (
    -- the first version also covers created_at .. its valid_from, as an inferred segment
    select
        ticket_id, requester_id, product_id, category, priority, status, assignee_id, department,
        created_at, solved_at, dbt_scd_id, _night,
        case when version_number = 1 and created_at < dbt_valid_from then created_at else dbt_valid_from end as segment_from,
        dbt_valid_from,
        dbt_valid_to
    from snapshot_versions
),

{%- if is_incremental() %}
redo as (
    select distinct ticket_id from versions where {{ core_loaded_since_last_run() }}
    union
    select f.ticket_id
    from {{ this }} as f
    {{ core_customer_join('f', 'rekey_bridge') }}
    where {{ core_customer_key('rekey_bridge') }} <> f.customer_key
),
{%- endif %}

days as (
    select date_day, date_key
    from {{ ref('dim_date') }}
    where date_day >= {{ start_date }} and date_day <= {{ end_date }}
),

daily as (
    select
        d.date_day,
        d.date_key,
        v.*,
        d.date_day < cast(v.dbt_valid_from as date) as is_status_inferred
    from versions as v
    inner join days as d
        on d.date_day >= cast(v.segment_from as date)
        and (v.dbt_valid_to is null or d.date_day < cast(v.dbt_valid_to as date))
    {%- if is_incremental() %}
    where d.date_day > (select max(date_day) from {{ this }})
        or v.ticket_id in (select ticket_id from redo)
    {%- endif %}
),

open_days as (
    select *
    from daily
    where case
        when is_status_inferred then solved_at is null or cast(solved_at as date) > date_day
        else status not in ('solved', 'closed')
    end
),

final as (
    select
        o.date_day,
        o.date_key,
        o.ticket_id,
        o.requester_id,
        o.product_id,
        o.category,
        o.priority,
        case when o.is_status_inferred then 'open' else o.status end as ticket_status,
        o.is_status_inferred,
        o.assignee_id,
        {{ core_code('o.department') }} as department_code,
        o.created_at,
        o.dbt_scd_id,
        {{ core_key(['o.ticket_id', 'o.date_day']) }} as backlog_key,
        {{ core_key(['o.ticket_id']) }} as ticket_key,
        {{ core_key(['o.product_id']) }} as product_key,
        {{ core_key(['o.assignee_id']) }} as assignee_employee_key,
        {{ core_key([core_code('o.department')]) }} as department_key,
        cast({{ dbt.datediff('cast(o.created_at as date)', 'o.date_day', 'day') }} as integer) as age_days,
        'helpdesk' as customer_source_system,
        'requesters' as customer_source_entity,
        o.requester_id as customer_source_id,
        o._night as source_night
    from open_days as o
),

keyed as (
    select f.*, {{ core_customer_key() }} as customer_key
    from final as f
    {{ core_customer_join('f') }}
)

select {{ core_contract_select('keyed') }}
from keyed
