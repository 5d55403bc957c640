-- Q27: How do satisfaction (ratings) and loyalty (repeat purchases) trend by customer segment?
{{ config(enabled=target.type == 'duckdb') }}
-- marts.satisfaction_loyalty_trend as of the latest night (DuckDB only): per month and segment (value group
-- and RFM segment, customers in the group they were in that month), the rated tickets, the average
-- score (1-5) and share satisfied (4-5), and the share of purchasing customers who had bought before.
with trend as (
    select * from {{ ref('satisfaction_loyalty_trend') }}
)

select
    month,
    dimension as segmentation,
    group_name as segment,
    n_rated_tickets,
    avg_satisfaction_score,
    satisfied_share,
    purchasing_customers,
    repeat_customers,
    repeat_purchase_rate
from trend
where as_of_date = (select max(as_of_date) from trend)
    and dimension in ('value_group', 'rfm_segment')
order by segmentation, segment, month
