{{ config(materialized='table') }}
{#-
    Referrals (DOMAIN step 2 factor 5) per customer as of as_of_date, from CRM accounts'
    referred_by_account_id, both accounts mapped to their resolved customer through
    core.bridge_customer_source_id ('crm', 'accounts', account_id). One row per customer
    that has a CRM account (others have no referral data: null in the marts).
      referral_count     distinct other customers whose account this customer's account referred,
                         counting accounts created on or before as_of_date (a referral between two
                         accounts that identity resolution merged into one customer does not count)
      referral_value     sum of those referred customers' historical value (margin to date, EUR, kept
                         orders of int_cv_orders) as of as_of_date
      referral_rate      propensity to refer: expected referrals per year, the posterior mean of a
                         Poisson rate with a Gamma prior worth one year at the population rate
                         lambda: (referral_count + lambda) / (1 + tenure_years); lambda = referrals
                         of the last 365 days / customers with a CRM account on as_of_date; tenure
                         from the earliest CRM account's created_at
      avg_referred_value the population's average historical value of a referred customer (a
                         referred customer who never bought counts as 0)
    customer_value turns these into referral_potential_value.
-#}
with accounts as (
    select
        a.account_id,
        a.referred_by_account_id,
        cast(a.created_at as date) as created_on,
        b.customer_key
    from {{ ref('stg_crm__accounts') }} as a
    inner join {{ ref('bridge_customer_source_id') }} as b
        on b.source_system = 'crm' and b.source_entity = 'accounts' and b.source_id = a.account_id
    where b.customer_key <> {{ core_unknown_key() }}
        and coalesce(cast(a.created_at as date), {{ cv_as_of_date() }}) <= {{ cv_as_of_date() }}
),

crm_customers as (
    select customer_key as customer_id, min(created_on) as first_account_on
    from accounts
    group by customer_key
),

referrals as (
    -- one row per (referrer, referred) pair of distinct customers; its date is the referred account's creation
    select r.customer_key as referrer_id, a.customer_key as referred_id, min(a.created_on) as referred_on
    from accounts as a
    inner join accounts as r on r.account_id = a.referred_by_account_id
    where r.customer_key <> a.customer_key
    group by r.customer_key, a.customer_key
),

margins as (
    select customer_id, sum(margin_eur) as margin_to_date
    from {{ ref('int_cv_orders') }}
    where exclusion_reason is null
    group by customer_id
),

referred_value as (
    select rf.referred_id, coalesce(m.margin_to_date, 0) as margin_to_date
    from (select distinct referred_id from referrals) as rf
    left join margins as m on m.customer_id = rf.referred_id
),

population as (
    -- always exactly one row
    select
        coalesce(
            (select count(*) from referrals where referred_on > {{ cv_as_of_date() }} - interval 365 day)
            * 1.0 / nullif((select count(*) from crm_customers), 0),
            0
        ) as lambda,
        coalesce((select avg(margin_to_date) from referred_value), 0) as avg_referred_value
),

per_customer as (
    select
        r.referrer_id as customer_id,
        count(*) as referral_count,
        sum(v.margin_to_date) as referral_value
    from referrals as r
    inner join referred_value as v on v.referred_id = r.referred_id
    group by r.referrer_id
)

select
    cast(c.customer_id as varchar) as customer_id,
    cast(coalesce(p.referral_count, 0) as integer) as referral_count,
    cast(coalesce(p.referral_value, 0) as double) as referral_value,
    cast(
        (coalesce(p.referral_count, 0) + pop.lambda)
        / (1.0 + greatest({{ cv_as_of_date() }} - coalesce(c.first_account_on, {{ cv_as_of_date() }}), 0) / 365.25)
        as double
    ) as referral_rate,
    cast(pop.lambda as double) as population_referral_rate,
    cast(pop.avg_referred_value as double) as avg_referred_value
from crm_customers as c
cross join population as pop
left join per_customer as p on p.customer_id = c.customer_id
