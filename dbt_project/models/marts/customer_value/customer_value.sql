{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}
{#-
    One row per customer and as_of_date (history: every night's rows are kept;
    re-running a night replaces that night's rows). Formulas: see the model's
    description in _customer_value__models.yml.
-#}
{%- set cur_threshold = var('cv_current_value_threshold', none) -%}
{%- set pot_threshold = var('cv_potential_value_threshold', none) -%}
with settings as (
    select * from {{ ref('int_cv_run_settings') }}
),

kept as (
    select * from {{ ref('int_cv_orders') }} where exclusion_reason is null
),

orders as (
    select
        customer_id,
        count(*) as n_orders,
        count(*) filter (where order_kind = 'refund') as n_refunds,
        count(*) filter (where order_kind = 'zero') as n_zero_orders,
        count(distinct order_date) filter (where order_kind = 'purchase') as n_purchases,
        sum(revenue_eur) as revenue_to_date,
        sum(margin_eur) as margin_to_date,
        min(order_date) as first_order_date,
        min(order_date) filter (where order_kind = 'purchase') as first_purchase_date,
        max(order_date) filter (where order_kind = 'purchase') as last_purchase_date
    from kept
    group by customer_id
),

scored as (
    select
        o.*,
        s.p_alive,
        s.expected_purchases,
        s.expected_purchases_if_alive,
        s.expected_avg_spend,
        s.purchase_revenue,
        s.purchase_margin,
        s.status__bg_nbd as bg_nbd_status,
        s.status__gamma_gamma as gamma_gamma_status,
        x.cross_buy_breadth,
        x.primary_category,
        x.cross_sell_annual_margin,
        x.next_best_category,
        rf.referral_count,
        rf.referral_value,
        rf.referral_rate,
        rf.avg_referred_value,
        st.as_of_date,
        st.horizon_weeks,
        st.discount_rate,
        st.discount_factor,
        st.as_of_date - coalesce(o.last_purchase_date, o.first_order_date) as recency_days,
        st.as_of_date - o.first_order_date as tenure_days,
        -- margin share of a purchase: this customer's own (purchases only), 0 if they never paid anything
        case when s.purchase_revenue > 0 then s.purchase_margin / s.purchase_revenue else 0 end as margin_ratio
    from orders as o
    cross join settings as st
    left join {{ ref('int_cv_customer_scores') }} as s on s.customer_id = o.customer_id
    left join {{ ref('int_cv_cross_sell') }} as x on x.customer_id = o.customer_id
    left join {{ ref('int_cv_referrals') }} as rf on rf.customer_id = o.customer_id
),

valued as (
    select
        *,
        coalesce(expected_avg_spend, 0) * margin_ratio as expected_margin_per_purchase,
        coalesce(expected_purchases, 0) * coalesce(expected_avg_spend, 0) * margin_ratio * discount_factor
            as current_value,
        coalesce(cross_sell_annual_margin, 0) * (horizon_weeks / 52.0) * coalesce(p_alive, 1.0) * discount_factor
            as cross_sell_value,
        {{ cv_number_var('cv_activation_success_rate', 0.10) }} * (1.0 - coalesce(p_alive, 1.0))
            * coalesce(expected_purchases_if_alive, 0) * coalesce(expected_avg_spend, 0) * margin_ratio
            * discount_factor as activation_value,
        -- expected referrals in the horizon (alive customers only) x average value of a referred customer
        coalesce(referral_rate, 0) * (horizon_weeks / 52.0) * coalesce(p_alive, 1.0)
            * coalesce(avg_referred_value, 0) * discount_factor as referral_potential_value,
        last_purchase_date > as_of_date - {{ cv_number_var('cv_active_days', 365) }} as is_active
    from scored
),

thresholds as (
    -- always an aggregate: exactly one row
    select
        {% if cur_threshold is none -%}
        coalesce(median(current_value) filter (where is_active), 0)
        {%- else -%}max(cast({{ cv_number_var('cv_current_value_threshold', none) }} as double)){%- endif %} as current_threshold,
        {% if pot_threshold is none -%}
        coalesce(median(cross_sell_value + activation_value + referral_potential_value) filter (where is_active), 0)
        {%- else -%}max(cast({{ cv_number_var('cv_potential_value_threshold', none) }} as double)){%- endif %} as potential_threshold
    from valued
),

ranked as (
    select
        v.*,
        cross_sell_value + activation_value + referral_potential_value as potential_value,
        -- quintiles by rank: equal values share a score (unlike ntile, which splits ties arbitrarily)
        1 + cast(floor(5.0 * (rank() over (order by recency_days desc) - 1) / count(*) over ()) as integer) as r_score,
        1 + cast(floor(5.0 * (rank() over (order by n_purchases) - 1) / count(*) over ()) as integer) as f_score,
        1 + cast(floor(5.0 * (rank() over (order by margin_to_date) - 1) / count(*) over ()) as integer) as m_score,
        t.current_threshold,
        t.potential_threshold
    from valued as v
    cross join thresholds as t
),

segmented as (
    select
        *,
        case
            when current_value > current_threshold and potential_value > potential_threshold then 'loyal'
            when current_value > current_threshold then 'repeat'
            when potential_value > potential_threshold then 'prospective'
            else 'ordinary'
        end as value_group,
        {{ cv_rfm_segment('r_score', 'f_score', 'm_score', 'n_purchases') }} as rfm_segment
    from ranked
)

select
    cast(customer_id as varchar) as customer_id,
    cast(as_of_date as date) as as_of_date,
    cast(margin_to_date as double) as historical_value,
    cast(current_value as double) as current_value,
    cast(potential_value as double) as potential_value,
    cast(margin_to_date + current_value + potential_value as double) as lifetime_value,
    cast(value_group as varchar) as value_group,
    cast(rfm_segment as varchar) as rfm_segment,
    cast(p_alive as double) as p_alive,
    cast(margin_to_date as double) as margin_to_date,
    cast(revenue_to_date as double) as revenue_to_date,
    cast(n_purchases as bigint) as purchase_frequency,
    cast(tenure_days as integer) as tenure_days,
    cast(cross_buy_breadth as integer) as cross_buy_breadth,
    cast(referral_count as integer) as referral_count,
    cast(referral_value as double) as referral_value,
    cast(expected_purchases as double) as expected_purchases_horizon,
    cast(expected_purchases_if_alive as double) as expected_purchases_if_alive,
    cast(expected_avg_spend as double) as expected_avg_spend,
    cast(expected_margin_per_purchase as double) as expected_margin_per_purchase,
    cast(cross_sell_value as double) as cross_sell_value,
    cast(activation_value as double) as activation_value,
    cast(referral_potential_value as double) as referral_potential_value,
    cast(referral_rate as double) as referral_rate,
    cast(primary_category as varchar) as primary_category,
    cast(next_best_category as varchar) as next_best_category,
    cast(r_score as integer) as r_score,
    cast(f_score as integer) as f_score,
    cast(m_score as integer) as m_score,
    cast(recency_days as integer) as recency_days,
    cast(is_active as boolean) as is_active,
    cast(n_orders as bigint) as n_orders,
    cast(n_refunds as bigint) as n_refunds,
    cast(n_zero_orders as bigint) as n_zero_orders,
    cast(first_purchase_date as date) as first_purchase_date,
    cast(last_purchase_date as date) as last_purchase_date,
    cast(
        case
            when bg_nbd_status is null then 'no_purchases'
            when bg_nbd_status = 'ok' and gamma_gamma_status = 'ok' then 'ok'
            else 'bg_nbd:' || bg_nbd_status || ' gamma_gamma:' || gamma_gamma_status
        end as varchar
    ) as model_status,
    cast(horizon_weeks as double) as horizon_weeks,
    cast(discount_rate as double) as discount_rate,
    cast(current_threshold as double) as current_value_threshold,
    cast(potential_threshold as double) as potential_value_threshold
from segmented
