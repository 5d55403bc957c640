-- Q20: Which rep should take this big deal? (performance by deal size and segment)
-- Reps ranked for large and very large deals per customer segment (employed, enough closed deals first).
select
    customer_segment,
    deal_size_band,
    rank_in_segment_band,
    owner_employee_id,
    rep_region,
    is_rep_employed,
    n_closed,
    n_won,
    round(cast(win_rate as numeric), 3) as win_rate,
    round(cast(peer_win_rate as numeric), 3) as peer_win_rate,
    won_amount,
    round(cast(avg_won_cycle_days as numeric), 1) as avg_won_cycle_days
from {{ ref('sales_rep_performance') }}
where deal_size_band in ('large', 'very_large')
order by customer_segment, deal_size_band, rank_in_segment_band
