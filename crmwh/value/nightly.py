"""The glue between the dbt Python models and the estimators: orders in, score and parameter frames out.

Why a module (not code inside the dbt models): the dbt models stay two-line
wrappers, and this logic is unit-testable without dbt. One fit per night feeds
two tables: the per-customer scores carry the fitted parameters as constant
columns (``param__<model>__<name>``, ``ll__<model>``, ``n__<model>``,
``status__<model>``), and :func:`params_from_scores` turns them back into the
rows of ``marts.customer_value_model_params`` without fitting again. A constant
column costs next to nothing in DuckDB's columnar storage.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from crmwh.value.models import PARAMS_COLUMNS, fit_customer_value
from crmwh.value.rfm_summary import time_unit_days, to_date

SCORE_COLUMNS = [
    "customer_id",
    "as_of_date",
    "repeat_purchases",
    "recency",
    "tenure",
    "monetary_value",
    "n_purchase_days",
    "purchase_revenue",
    "purchase_margin",
    "expected_purchases",
    "expected_purchases_if_alive",
    "p_alive",
    "expected_avg_spend",
]
MODELS = ("bg_nbd", "gamma_gamma")
# Statuses after which the plain maximum-likelihood fit is retried with a small L2 penalty.
RETRY_STATUSES = frozenset({"boundary_solution", "not_converged"})
DEFAULT_FALLBACK_PENALIZER = 0.001


def horizon_in_unit(horizon_weeks: float, time_unit: str) -> float:
    """The horizon (given in weeks) in the model's time unit."""
    return float(horizon_weeks) * 7.0 / time_unit_days(time_unit)


def score_customers(
    purchases: pd.DataFrame,
    as_of: dt.date | str,
    *,
    time_unit: str = "week",
    horizon_weeks: float = 52.0,
    fallback_penalizer: float = DEFAULT_FALLBACK_PENALIZER,
) -> pd.DataFrame:
    """Fit BG/NBD and Gamma-Gamma on ``purchases`` and score each customer; parameters as constant columns.

    ``purchases`` has ``customer_id, order_date, amount, margin`` (purchases
    only: positive amounts, in one currency). ``expected_purchases_if_alive``
    is E[X(horizon) | alive] = E[X(horizon)] / P(alive) under BG/NBD (null
    when P(alive) is null or ~0): what an activated customer would buy.

    The fit is plain maximum likelihood. When a model's fit ran off to the
    boundary or did not converge (typical of a few hundred customers or fewer,
    or of customers all alike), both models are refitted with an L2 penalty of
    ``fallback_penalizer`` on the log-parameters, which keeps them interior
    and the scores finite; the status then reads e.g.
    ``ok+penalizer=0.001`` so nobody mistakes it for the plain MLE.
    """
    horizon = horizon_in_unit(horizon_weeks, time_unit)
    fit = fit_customer_value(purchases, as_of, time_unit, horizon=horizon, margin_col="margin")
    statuses = {"bg_nbd": fit.bg_nbd.status, "gamma_gamma": fit.gamma_gamma.status}
    if fallback_penalizer > 0 and RETRY_STATUSES & set(statuses.values()):
        fit = fit_customer_value(
            purchases, as_of, time_unit, horizon=horizon, margin_col="margin", penalizer=fallback_penalizer
        )
        suffix = f"+penalizer={fallback_penalizer:g}"
        statuses = {"bg_nbd": fit.bg_nbd.status + suffix, "gamma_gamma": fit.gamma_gamma.status + suffix}
    c = fit.customers
    expected = c[fit.expected_purchases_column].astype("Float64")
    palive = c["p_alive"].astype("Float64")
    usable = palive.notna() & (palive > 1e-9)
    if_alive = (expected / palive.where(usable)).where(usable)
    out = pd.DataFrame(
        {
            "customer_id": c["customer_id"].astype("string"),
            "as_of_date": pd.Series(pd.Timestamp(fit.summary.as_of), index=c.index, dtype="datetime64[s]"),
            "repeat_purchases": c["frequency"].astype("int64"),
            "recency": c["recency"].astype("float64"),
            "tenure": c["T"].astype("float64"),
            "monetary_value": c["monetary_value"].astype("float64"),
            "n_purchase_days": c["n_purchase_days"].astype("int64"),
            "purchase_revenue": c["total_amount"].astype("float64"),
            "purchase_margin": c["total_margin"].astype("float64")
            if "total_margin" in c
            else pd.Series(np.nan, index=c.index),
            "expected_purchases": expected,
            "expected_purchases_if_alive": if_alive.astype("Float64"),
            "p_alive": palive,
            "expected_avg_spend": c["expected_avg_spend"].astype("Float64"),
        }
    )
    for row in fit.params.itertuples(index=False):
        out[f"param__{row.model}__{row.param}"] = pd.Series([row.value] * len(out), dtype="Float64")
    for model in MODELS:
        sub = fit.params[fit.params["model"] == model].iloc[0]
        out[f"ll__{model}"] = pd.Series([sub["log_likelihood"]] * len(out), dtype="Float64")
        out[f"n__{model}"] = pd.Series([int(sub["n_customers"])] * len(out), dtype="int64")
        out[f"status__{model}"] = pd.Series([statuses[model]] * len(out), dtype="string")
    out["time_unit"] = pd.Series([time_unit] * len(out), dtype="string")
    return out


def params_from_scores(scores: pd.DataFrame, as_of: dt.date | str, time_unit: str = "week") -> pd.DataFrame:
    """The INTERFACE rows of ``marts.customer_value_model_params`` from :func:`score_customers`' output.

    With no scored customers nothing was fitted: the statuses come from a fit
    on an empty frame (``no_customers``, null values), so the night still has
    one row per model parameter.
    """
    if scores.empty:
        empty = pd.DataFrame({"customer_id": [], "order_date": [], "amount": [], "margin": []})
        empty["order_date"] = pd.to_datetime(empty["order_date"])
        return fit_customer_value(empty, as_of, time_unit).params
    first = scores.iloc[0]
    rows = []
    for column in scores.columns:
        if not column.startswith("param__"):
            continue
        _, model, name = column.split("__", 2)
        value = first[column]
        ll = first[f"ll__{model}"]
        rows.append(
            {
                "model": model,
                "param": name,
                "value": None if pd.isna(value) else float(value),
                "time_unit": str(first["time_unit"]),
                "n_customers": int(first[f"n__{model}"]),
                "log_likelihood": None if pd.isna(ll) else float(ll),
                "as_of_date": to_date(as_of),
                "status": str(first[f"status__{model}"]),
            }
        )
    frame = pd.DataFrame(rows, columns=PARAMS_COLUMNS)
    frame["value"] = frame["value"].astype("Float64")
    frame["log_likelihood"] = frame["log_likelihood"].astype("Float64")
    return frame
