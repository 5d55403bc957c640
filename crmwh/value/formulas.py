"""The lifetime-value formulas of the CRM documents (DOMAIN.md section 3), as plain functions.

Why here: the marts and the README quote these formulas; one implementation
tested on the documents' FedEx example keeps every place consistent.

- Simple (revenue) lifetime value: monthly revenue x 12 x years. FedEx:
  1,500 a month over 10 years = 1,500 x 12 x 10 = 180,000 (the document
  prints 360,000, an arithmetic error; DOMAIN.md).
- Margin, retention and discounting: sum over periods t = 0 .. n-1 of
  margin x retention^t / (1 + discount_rate)^t. The first period (t = 0) is
  the current one: earned for sure and not discounted. With retention 1 and
  discount rate 0 it reduces to margin x n, i.e. the simple formula.
"""

from __future__ import annotations

import numpy as np

from crmwh.errors import CrmwhError

ArrayLike = float | np.ndarray


def simple_lifetime_value(monthly_revenue: ArrayLike, years: ArrayLike) -> ArrayLike:
    """Monthly revenue x 12 x years (the documents' FedEx formula)."""
    return np.asarray(monthly_revenue, dtype=np.float64) * 12.0 * np.asarray(years, dtype=np.float64) + 0.0


def discounted_lifetime_value(
    margin_per_period: ArrayLike,
    retention: ArrayLike,
    discount_rate: ArrayLike,
    periods: int,
) -> ArrayLike:
    """Sum_{t=0}^{periods-1} margin x retention^t / (1 + discount_rate)^t.

    ``retention`` is the probability a customer active this period is still
    active next period (0..1); ``discount_rate`` is per period (> -1).
    Vectorised over customers: margin, retention and rate may be arrays.
    """
    if periods < 0:
        raise CrmwhError(f"periods must be >= 0, got {periods}")
    m = np.asarray(margin_per_period, dtype=np.float64)
    r = np.asarray(retention, dtype=np.float64)
    d = np.asarray(discount_rate, dtype=np.float64)
    if np.any((r < 0) | (r > 1)):
        raise CrmwhError("retention must be between 0 and 1")
    if np.any(d <= -1):
        raise CrmwhError("discount rate must be greater than -1")
    k = r / (1.0 + d)  # per-period factor
    # Geometric sum (1 - k^n) / (1 - k), with the k = 1 limit n.
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(np.isclose(k, 1.0), float(periods), (1.0 - k**periods) / (1.0 - k))
    return m * factor + 0.0


def perpetual_lifetime_value(margin_per_period: ArrayLike, retention: ArrayLike, discount_rate: ArrayLike) -> ArrayLike:
    """The infinite-horizon limit: margin x (1 + d) / (1 + d - retention); needs retention < 1 + d."""
    m = np.asarray(margin_per_period, dtype=np.float64)
    r = np.asarray(retention, dtype=np.float64)
    d = np.asarray(discount_rate, dtype=np.float64)
    if np.any(r >= 1.0 + d):
        raise CrmwhError("perpetual lifetime value needs retention < 1 + discount rate (else it is infinite)")
    return m * (1.0 + d) / (1.0 + d - r) + 0.0
