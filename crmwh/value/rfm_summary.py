"""Per-customer recency/frequency/monetary summary: the input of BG/NBD and Gamma-Gamma.

Why a module of its own: both probabilistic models see a customer only through
four numbers (frequency, recency, T, monetary value), and getting those four
right (same-day orders merged, orders after the as-of date excluded, the first
purchase left out of the spend average) matters more than the optimiser.

Definitions (Fader, Hardie & Lee 2005; the same as the `lifetimes` package):

- a *purchase period* is a calendar day: several orders of one customer on one
  day count as one purchase whose amount is their sum;
- ``frequency`` = number of distinct purchase days minus one (repeat purchases);
- ``recency`` = time from the first to the last purchase day;
- ``T`` = time from the first purchase day to the as-of date;
- ``monetary_value`` = mean amount of the repeat purchase days (the first
  purchase is excluded, as in the Gamma-Gamma papers); 0 when frequency is 0;
- times are in ``time_unit`` (``day`` or ``week`` = 7 days).

Everything is vectorised with numpy on integer day numbers, so tens of millions
of orders summarise in seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmwh.errors import CrmwhError

TIME_UNIT_DAYS: dict[str, int] = {"day": 1, "week": 7}


@dataclass(frozen=True)
class RfmSummary:
    """The summary table plus the counts of rows that did not enter it (never silent)."""

    customers: pd.DataFrame
    n_transactions_in: int
    n_transactions_used: int
    n_after_as_of: int
    n_missing_key: int
    time_unit: str
    as_of: dt.date


def time_unit_days(time_unit: str) -> int:
    """Days per time unit; a clear error for anything but ``day``/``week``."""
    try:
        return TIME_UNIT_DAYS[time_unit]
    except KeyError:
        raise CrmwhError(
            f"time unit {time_unit!r} is not supported: use one of {sorted(TIME_UNIT_DAYS)}"
        ) from None


def to_date(value: dt.date | dt.datetime | str | pd.Timestamp) -> dt.date:
    """Normalise an as-of date given as date, datetime, Timestamp or ISO string."""
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise CrmwhError(f"as-of date {value!r} is not a date: give YYYY-MM-DD") from exc


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as int64, NaT as the int64 minimum (filtered later)."""
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.to_datetime(dates, errors="raise")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


_NAT_DAY = np.datetime64("NaT", "D").astype(np.int64)


def summarise_transactions(
    transactions: pd.DataFrame,
    as_of: dt.date | str,
    time_unit: str = "week",
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
    margin_col: str | None = "margin",
) -> RfmSummary:
    """Summarise transactions into one row per customer as of ``as_of`` (inclusive).

    Rows dated after ``as_of`` and rows without customer or date are excluded
    and counted. Amounts are used as given (zero and negative included); the
    spend model decides what to do with non-positive averages.
    Output columns: ``customer_id, frequency, recency, T, monetary_value,
    first_purchase_date, last_purchase_date, n_purchase_days, total_amount``
    and, when a margin column is present, ``total_margin, monetary_margin``.
    """
    unit_days = time_unit_days(time_unit)
    as_of_date = to_date(as_of)
    for col in (customer_col, date_col, amount_col):
        if col not in transactions.columns:
            raise CrmwhError(
                f"transactions have no column {col!r}: expected {customer_col}, {date_col}, {amount_col}"
            )
    has_margin = margin_col is not None and margin_col in transactions.columns

    n_in = len(transactions)
    day = _day_numbers(transactions[date_col])
    cust_codes, cust_uniques = pd.factorize(transactions[customer_col], use_na_sentinel=True)
    amount = pd.to_numeric(transactions[amount_col], errors="raise").to_numpy(dtype=np.float64, na_value=0.0)
    margin = (
        pd.to_numeric(transactions[margin_col], errors="raise").to_numpy(dtype=np.float64, na_value=0.0)
        if has_margin
        else None
    )

    as_of_day = np.int64((np.datetime64(as_of_date, "D") - np.datetime64(0, "D")).astype(np.int64))
    missing = (cust_codes < 0) | (day == _NAT_DAY)
    after = ~missing & (day > as_of_day)
    keep = ~missing & ~after
    n_missing = int(missing.sum())
    n_after = int(after.sum())

    cust_codes = cust_codes[keep].astype(np.int64)
    day = day[keep]
    amount = amount[keep]
    if margin is not None:
        margin = margin[keep]

    columns = _empty_columns(has_margin)
    if cust_codes.size == 0:
        customers = pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
        return RfmSummary(customers, n_in, 0, n_after, n_missing, time_unit, as_of_date)

    # One integer key per (customer, day); sorting it groups customers and orders days.
    day_min = day.min()
    span = np.int64(as_of_day - day_min + 1)
    key = cust_codes * span + (day - day_min)
    order = np.argsort(key, kind="stable")
    key = key[order]
    new_key = np.empty(key.size, dtype=bool)
    new_key[0] = True
    np.not_equal(key[1:], key[:-1], out=new_key[1:])
    key_starts = np.flatnonzero(new_key)
    period_amount = np.add.reduceat(amount[order], key_starts)
    period_margin = np.add.reduceat(margin[order], key_starts) if margin is not None else None
    ukey = key[key_starts]
    pcust = ukey // span
    pday = ukey % span + day_min

    new_cust = np.empty(pcust.size, dtype=bool)
    new_cust[0] = True
    np.not_equal(pcust[1:], pcust[:-1], out=new_cust[1:])
    starts = np.flatnonzero(new_cust)
    ends = np.append(starts[1:], pcust.size) - 1
    n_days = ends - starts + 1
    first_day = pday[starts]
    last_day = pday[ends]
    total = np.add.reduceat(period_amount, starts)
    frequency = n_days - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, (total - period_amount[starts]) / np.maximum(frequency, 1), 0.0)

    data: dict[str, object] = {
        "customer_id": np.asarray(cust_uniques)[pcust[starts]],
        "frequency": frequency.astype(np.int64),
        "recency": (last_day - first_day) / unit_days,
        "T": (as_of_day - first_day) / unit_days,
        "monetary_value": monetary,
        "first_purchase_date": first_day.astype("datetime64[D]"),
        "last_purchase_date": last_day.astype("datetime64[D]"),
        "n_purchase_days": n_days.astype(np.int64),
        "total_amount": total,
    }
    if period_margin is not None:
        total_margin = np.add.reduceat(period_margin, starts)
        data["total_margin"] = total_margin
        data["monetary_margin"] = np.where(
            frequency > 0, (total_margin - period_margin[starts]) / np.maximum(frequency, 1), 0.0
        )
    customers = pd.DataFrame(data)
    return RfmSummary(customers, n_in, int(keep.sum()), n_after, n_missing, time_unit, as_of_date)


def rfm_summary(
    transactions: pd.DataFrame, as_of: dt.date | str, time_unit: str = "week", **kwargs: object
) -> pd.DataFrame:
    """The summary table only (see :func:`summarise_transactions`)."""
    return summarise_transactions(transactions, as_of, time_unit, **kwargs).customers  # type: ignore[arg-type]


def _empty_columns(has_margin: bool) -> dict[str, str]:
    cols = {
        "customer_id": "object",
        "frequency": "int64",
        "recency": "float64",
        "T": "float64",
        "monetary_value": "float64",
        "first_purchase_date": "datetime64[s]",
        "last_purchase_date": "datetime64[s]",
        "n_purchase_days": "int64",
        "total_amount": "float64",
    }
    if has_margin:
        cols["total_margin"] = "float64"
        cols["monetary_margin"] = "float64"
    return cols
