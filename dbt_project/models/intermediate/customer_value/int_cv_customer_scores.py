"""BG/NBD + Gamma-Gamma fitted on the night's purchases; one row per customer who ever purchased.

A dbt-duckdb Python model: it runs inside dbt's process on dbt's DuckDB
connection. The fitting lives in crmwh.value (tested on its own); this file
only moves data: purchases (int_cv_orders, order_kind = 'purchase') in,
scores plus the fitted parameters as constant columns out (see
crmwh.value.nightly).

Orders of one customer on one day are summed in DuckDB first (the models
count a day as one purchase anyway), and the result travels as Arrow, which
is several times faster than DuckDB's DataFrame conversion for millions of
rows (1M customers / 10M orders: 6 s instead of 13 s).
"""

from crmwh.value.nightly import score_customers


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.ref("int_cv_run_settings").df().iloc[0]
    purchases = (
        dbt.ref("int_cv_orders")
        .filter("order_kind = 'purchase'")
        .aggregate(
            "customer_id, cast(order_date as timestamp) as order_date, "
            "cast(sum(revenue_eur) as double) as amount, cast(sum(margin_eur) as double) as margin",
            "customer_id, order_date",
        )
        .arrow()
        .read_all()
        .to_pandas()
        # Same input order every run: the fit's floating-point result depends on it.
        .sort_values(["customer_id", "order_date"], kind="stable", ignore_index=True)
    )
    return score_customers(
        purchases,
        settings["as_of_date"],
        time_unit=str(settings["time_unit"]),
        horizon_weeks=float(settings["horizon_weeks"]),
        fallback_penalizer=float(settings["fallback_penalizer"]),
    )
