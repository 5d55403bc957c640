"""One call from transactions to the two tables of the customer-value marts.

Why a façade: the nightly pipeline needs only "transactions and an as-of date
in, parameter rows and per-customer scores out", with statuses instead of
exceptions for degenerate data, in the shapes of INTERFACE.md
(``marts.customer_value_model_params`` and the model columns of
``marts.customer_value``). Model details live in ``bg_nbd`` and ``gamma_gamma``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmwh.value import bg_nbd, gamma_gamma
from crmwh.value.rfm_summary import RfmSummary, summarise_transactions, time_unit_days

DEFAULT_HORIZON_DAYS = 365.0

PARAMS_COLUMNS = ["model", "param", "value", "time_unit", "n_customers", "log_likelihood", "as_of_date", "status"]


@dataclass(frozen=True)
class CustomerValueFit:
    """Everything one fit produced: the two tables plus the fits and input counts behind them."""

    params: pd.DataFrame
    customers: pd.DataFrame
    bg_nbd: bg_nbd.BgNbdFit
    gamma_gamma: gamma_gamma.GammaGammaFit
    summary: RfmSummary
    horizon: float
    expected_purchases_column: str


def default_horizon(time_unit: str) -> float:
    """One year in the given unit: 52 weeks or 365 days."""
    return 52.0 if time_unit == "week" else DEFAULT_HORIZON_DAYS / time_unit_days(time_unit)


def expected_purchases_column(horizon: float, time_unit: str) -> str:
    """Column name for expected purchases over ``horizon``, e.g. ``expected_purchases_52w``."""
    return f"expected_purchases_{horizon:g}{time_unit[0]}".replace(".", "_")


def fit_customer_value(
    transactions: pd.DataFrame,
    as_of: dt.date | str,
    time_unit: str = "week",
    *,
    horizon: float | None = None,
    penalizer: float = 0.0,
    min_customers: int = 2,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
    margin_col: str | None = "margin",
) -> CustomerValueFit:
    """Summarise, fit BG/NBD and Gamma-Gamma, and score every customer as of ``as_of``.

    Never raises on degenerate data (no customers, one customer, no repeat
    buyers, zero or negative spend, identical customers): each model's
    ``status`` says what happened and unavailable numbers are null (pd.NA).
    Raises ``CrmwhError`` only for unusable input (missing columns, bad unit).
    """
    summary = summarise_transactions(
        transactions,
        as_of,
        time_unit,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        margin_col=margin_col,
    )
    horizon = default_horizon(time_unit) if horizon is None else float(horizon)
    c = summary.customers
    freq = c["frequency"].to_numpy(dtype=np.float64)
    rec = c["recency"].to_numpy(dtype=np.float64)
    big_t = c["T"].to_numpy(dtype=np.float64)
    money = c["monetary_value"].to_numpy(dtype=np.float64)

    bg = bg_nbd.fit(freq, rec, big_t, penalizer=penalizer, min_customers=min_customers)
    gg = gamma_gamma.fit(freq, money, penalizer=penalizer, min_customers=min_customers)

    expected, palive = bg_nbd.score(bg, freq, rec, big_t, horizon)
    own_mean = (c["total_amount"] / c["n_purchase_days"]).to_numpy(dtype=np.float64)
    spend = gamma_gamma.score(gg, freq, money, own_mean)

    col = expected_purchases_column(horizon, time_unit)
    customers = pd.DataFrame(
        {
            "customer_id": c["customer_id"],
            "as_of_date": pd.Series([summary.as_of] * len(c), dtype="object"),
            "frequency": c["frequency"],
            "recency": c["recency"],
            "T": c["T"],
            "monetary_value": c["monetary_value"],
            col: _nullable(expected),
            "p_alive": _nullable(palive),
            "expected_avg_spend": _nullable(spend),
        }
    )
    extra = [k for k in c.columns if k not in customers.columns]
    customers = pd.concat([customers, c[extra]], axis=1)
    params = _params_frame(bg, gg, time_unit, summary.as_of)
    return CustomerValueFit(params, customers, bg, gg, summary, horizon, col)


def fit_customer_value_models(
    transactions: pd.DataFrame, as_of: dt.date | str, time_unit: str = "week", **kwargs: object
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(params_df, customers_df): see :func:`fit_customer_value` for arguments and columns."""
    result = fit_customer_value(transactions, as_of, time_unit, **kwargs)  # type: ignore[arg-type]
    return result.params, result.customers


def _nullable(values: np.ndarray) -> pd.Series:
    """Float column where NaN/inf become pd.NA, so DuckDB stores NULL, never NaN."""
    values = np.asarray(values, dtype=np.float64)
    out = pd.array(values, dtype="Float64")
    out[~np.isfinite(values)] = pd.NA
    return pd.Series(out)


def _params_frame(
    bg: bg_nbd.BgNbdFit, gg: gamma_gamma.GammaGammaFit, time_unit: str, as_of: dt.date
) -> pd.DataFrame:
    rows = []
    for model, fitted in (("bg_nbd", bg), ("gamma_gamma", gg)):
        for name, value in fitted.params().items():
            rows.append(
                {
                    "model": model,
                    "param": name,
                    "value": value,
                    "time_unit": time_unit,
                    "n_customers": fitted.n_customers,
                    "log_likelihood": fitted.log_likelihood,
                    "as_of_date": as_of,
                    "status": fitted.status,
                }
            )
    frame = pd.DataFrame(rows, columns=PARAMS_COLUMNS)
    frame["value"] = _nullable(frame["value"].astype("float64").to_numpy())
    frame["log_likelihood"] = _nullable(frame["log_likelihood"].astype("float64").to_numpy())
    frame["n_customers"] = frame["n_customers"].astype("int64")
    return frame
