"""BG/NBD + Gamma-Gamma fitted on the night's purchases; one row per customer who ever purchased.

A dbt-duckdb Python model: it runs inside dbt's process on dbt's DuckDB
connection. The fitting lives in crmwh.value (tested on its own); this file
only moves data: purchases (int_cv_orders, order_kind = 'purchase') in,
scores plus the fitted parameters as constant columns out (see
crmwh.value.nightly).
"""

from crmwh.value.nightly import score_customers


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.ref("int_cv_run_settings").df().iloc[0]
    purchases = dbt.ref("int_cv_orders").filter("order_kind = 'purchase'").project(
        "customer_id, cast(order_date as timestamp) as order_date, revenue_eur as amount, margin_eur as margin"
    ).df()
    return score_customers(
        purchases,
        settings["as_of_date"],
        time_unit=str(settings["time_unit"]),
        horizon_weeks=float(settings["horizon_weeks"]),
        fallback_penalizer=float(settings["fallback_penalizer"]),
    )
