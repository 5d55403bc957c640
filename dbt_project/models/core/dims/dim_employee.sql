{#- Staff from the ERP/HR feed (reps, agents, technicians, managers) with territory; inferred members; unknown member. -#}
with employees as (
    select * from {{ ref('stg_erp__employees') }}
),

territories as (
    select * from {{ ref('stg_erp__territories') }}
),

referenced as (
    {{ core_referenced_ids([
        ['stg_erp__employees', 'manager_id'],
        ['stg_erp__territories', 'manager_id'],
        ['stg_erp__orders', 'employee_id'],
        ['stg_erp__quotes', 'employee_id'],
        ['stg_erp__opportunities', 'owner_employee_id'],
        ['stg_erp__opportunity_stage_history', 'changed_by'],
        ['stg_erp__commissions', 'employee_id'],
        ['stg_erp__quotas', 'employee_id'],
        ['stg_crm__accounts', 'owner_employee_id'],
        ['stg_crm__leads', 'owner_employee_id'],
        ['stg_crm__interactions', 'employee_id'],
        ['stg_callcenter__calls', 'agent_id'],
        ['stg_helpdesk__tickets', 'assignee_id'],
        ['stg_helpdesk__ticket_events', 'agent_id'],
        ['stg_helpdesk__field_visits', 'technician_id'],
    ]) }}
),

members as (
    select
        e.employee_id,
        nullif(trim({{ dbt.concat(["coalesce(e.first_name, '')", "' '", "coalesce(e.last_name, '')"]) }}), '') as full_name,
        e.email,
        e.role,
        case
            when e.role in ('sales_rep') then 'rep'
            when e.role in ('service_agent') then 'agent'
            when e.role in ('technician') then 'technician'
            when e.role in ('sales_manager', 'manager') then 'manager'
            else 'other'
        end as employee_type,
        {{ core_code('e.department') }} as department_code,
        e.manager_id,
        e.territory_id,
        t.territory_name,
        t.region,
        e.hire_date,
        e.termination_date,
        e.termination_date is null as is_employed,
        e.updated_at,
        false as is_inferred,
        false as is_unknown
    from employees as e
    left join territories as t on t.territory_id = e.territory_id

    union all

    select
        r.natural_id, null, null, null, 'unknown', null, null, null, null, null, null, null, null, null,
        true, false
    from referenced as r
    where not exists (select 1 from employees as e where e.employee_id = r.natural_id)

    union all

    select null, 'Unknown', null, null, 'unknown', null, null, null, null, null, null, null, null, null, false, true
),

final as (
    select
        {{ core_key(['employee_id']) }} as employee_key,
        {{ core_key(['department_code']) }} as department_key,
        {{ core_key(['manager_id']) }} as manager_key,
        *
    from members
)

select {{ core_contract_select('final') }}
from final
