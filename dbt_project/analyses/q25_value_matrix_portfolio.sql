-- Q25: What are each customer's value parts and value-matrix group, how large is each group (portfolio), and which group was the customer in on a past date?
{{ config(enabled=target.type == 'duckdb') }}
-- marts.customer_value keeps every night (DuckDB only). The past date is the last night at least 30 days
-- before the latest one (else the first night recorded): change past_date for any other night.
with customer_value as (
    select * from {{ ref('customer_value') }}
),

nights as (
    select
        max(as_of_date) as latest_date,
        coalesce(
            max(case when as_of_date <= max_date - 30 then as_of_date end),
            min(as_of_date)
        ) as past_date
    from customer_value
    cross join (select max(as_of_date) as max_date from customer_value) as m
),

portfolio as (
    select as_of_date, group_name as value_group, n_customers, customer_share, value_share
    from {{ ref('customer_portfolio') }}
    where dimension = 'value_group'
)

select
    now_.customer_id,
    now_.as_of_date,
    now_.historical_value,
    now_.current_value,
    now_.potential_value,
    now_.lifetime_value,
    now_.value_group,
    p.n_customers as group_customers,
    p.customer_share as group_customer_share,
    p.value_share as group_value_share,
    nights.past_date,
    past.value_group as value_group_on_past_date,
    past.lifetime_value as lifetime_value_on_past_date
from customer_value as now_
inner join nights on nights.latest_date = now_.as_of_date
left join portfolio as p on p.as_of_date = now_.as_of_date and p.value_group = now_.value_group
left join customer_value as past on past.customer_id = now_.customer_id and past.as_of_date = nights.past_date
order by now_.lifetime_value desc
