select
    cast('2026-11-02' as date) as as_of_date,
    cast('week' as varchar) as time_unit,
    cast(52 as double) as horizon_weeks,
    cast(0.1 as double) as discount_rate,
    cast(((1.0 - power(1.0 + 0.1, -1.0)) / (1.0 * ln(1.0 + 0.1))) as double) as discount_factor,
    cast(0.001 as double) as fallback_penalizer