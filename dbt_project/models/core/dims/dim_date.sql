{#- Calendar days from var core_date_start to core_date_end (a generated spine, no source), plus the unknown day. -#}
with spine as (
    {{ dbt.date_spine('day', "cast('" ~ var('core_date_start') ~ "' as date)", "cast('" ~ var('core_date_end') ~ "' as date)") }}
),

days as (
    select cast(date_day as date) as date_day from spine
),

final as (
    select
        {{ core_date_key('date_day') }} as date_key,
        date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        cast(extract(month from date_day) as integer) as month_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(isodow from date_day) as integer) as iso_day_of_week,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start_date,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start_date,
        extract(isodow from date_day) in (6, 7) as is_weekend,
        false as is_unknown
    from days

    union all

    select
        -1, cast(null as date), null, null, null, null, null,
        cast(null as date), cast(null as date), cast(null as date), cast(null as date), null, true
)

select {{ core_contract_select('final') }}
from final
