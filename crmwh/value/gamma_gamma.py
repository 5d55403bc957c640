"""Gamma-Gamma spend model: what a customer's average purchase is worth.

Colombo & Jiang (1999), "A stochastic RFM model", Journal of Interactive
Marketing 13(3); Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value
Curves for Customer Base Analysis", JMR 42(4); Fader & Hardie (2013), "The
Gamma-Gamma Model of Monetary Value". Each purchase amount is
Gamma(p, nu); nu varies across customers as Gamma(q, v). A customer is
summarised by (x = number of repeat purchases, zbar = their mean amount).
The model assumes spend is independent of frequency and strictly positive.

Fitted on repeat buyers with zbar > 0 only (customers with frequency 0 carry no
spend information in this model; zero or negative averages are outside its
support and are counted in ``n_excluded_nonpositive``). Conditional expected
average spend: E[M | x, zbar] = p (v + x zbar) / (p x + q - 1), which for
x = 0 is the population mean p v / (q - 1) (finite only when q > 1).

Statuses: ``ok``; ``no_customers``; ``insufficient_repeat_buyers`` (fewer
than ``min_customers`` repeat buyers with positive spend; parameters null;
fallback in :func:`score`: the customer's own mean purchase amount when
positive, else null); ``boundary_solution`` (a parameter ran off towards 0 or infinity, e.g.
every customer has the same average: no spread to estimate); ``not_converged``;
``infinite_mean_spend`` (q <= 1: population mean undefined, so customers
without repeat purchases get the fallback).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from crmwh.errors import CrmwhError
from crmwh.value.compress import compress_rows
from crmwh.value.optimize import minimize_log_params

PARAM_NAMES = ("p", "q", "v")


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma parameters (money in the unit of the data) and how the fit went."""

    p: float | None
    q: float | None
    v: float | None
    log_likelihood: float | None
    n_customers: int
    n_excluded_nonpositive: int
    converged: bool
    status: str
    message: str = ""
    penalizer: float = 0.0

    @property
    def has_params(self) -> bool:
        return self.p is not None

    def params(self) -> dict[str, float | None]:
        return {"p": self.p, "q": self.q, "v": self.v}

    def population_mean_spend(self) -> float | None:
        """E[M] = p v / (q - 1), None when q <= 1 (no finite mean)."""
        if not self.has_params or self.q <= 1.0:  # type: ignore[operator]
            return None
        return self.p * self.v / (self.q - 1.0)  # type: ignore[operator]

    def conditional_expected_average_spend(self, frequency: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
        """E[M | x, zbar] per customer; x = 0 or zbar <= 0 give the population mean (NaN if none)."""
        if not self.has_params:
            raise CrmwhError(f"Gamma-Gamma has no parameters (status {self.status}): use score() for fallbacks")
        p, q, v = float(self.p), float(self.q), float(self.v)  # type: ignore[arg-type]
        x = np.asarray(frequency, dtype=np.float64)
        m = np.asarray(monetary_value, dtype=np.float64)
        usable = (x > 0) & (m > 0)
        xu = np.where(usable, x, 0.0)
        mu = np.where(usable, m, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = p * (v + xu * mu) / (p * xu + q - 1.0)
        out = np.where(usable | (q > 1.0), out, np.nan)
        return np.where(np.isfinite(out) & (out > 0), out, np.nan)


def log_likelihood_terms(
    log_params: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    with_grad: bool = False,
    levels: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-customer log density of zbar given x (Fader & Hardie 2013) and gradient in log-params.

    Gamma and digamma terms depend on x only: computed once per distinct x
    (``levels`` = distinct x and each row's index into them) and gathered.
    """
    p, q, v = np.exp(log_params)
    xs, xi = levels if levels is not None else _levels(x)
    pxs = p * xs
    const_s = gammaln(pxs + q) - gammaln(pxs) - gammaln(q) + q * np.log(v) + pxs * np.log(xs)
    px = p * x
    log_m = np.log(m)
    log_xm_v = np.log(x * m + v)
    ll = const_s[xi] + (px - 1.0) * log_m - (px + q) * log_xm_v
    if not with_grad:
        return ll, None
    psi_s = digamma(pxs + q)
    dp_s = xs * (psi_s - digamma(pxs) + np.log(xs))
    dq_s = psi_s - digamma(q) + np.log(v)
    d_p = dp_s[xi] + x * (log_m - log_xm_v)
    d_q = dq_s[xi] - log_xm_v
    d_v = q / v - (px + q) / (x * m + v)
    return ll, np.stack([d_p * p, d_q * q, d_v * v])


def _levels(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    levels, inverse = np.unique(x, return_inverse=True)
    return levels, inverse.ravel()


def fit(
    frequency: np.ndarray,
    monetary_value: np.ndarray,
    *,
    penalizer: float = 0.0,
    min_customers: int = 2,
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on repeat buyers with positive average spend.

    Customers with frequency 0 are ignored (no repeat spend); repeat buyers
    with zbar <= 0 are excluded and counted. ``penalizer`` adds
    ``penalizer * sum(log(param)^2)`` (money scaled so the mean zbar is 1).
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    if x.shape != m.shape:
        raise CrmwhError("frequency and monetary_value must have the same length")
    if x.size == 0:
        return _no_params(0, 0, "no_customers", "no customers to fit", penalizer)
    repeat = (x > 0) & np.isfinite(m)
    positive = repeat & (m > 0)
    n_excluded = int((repeat & ~positive).sum())
    x, m = x[positive], m[positive]
    n = int(x.size)
    if n < min_customers:
        return _no_params(
            n,
            n_excluded,
            "insufficient_repeat_buyers",
            f"{n} repeat buyer(s) with positive spend, need {min_customers}",
            penalizer,
        )

    # Money rescaled so the mean average spend is 1: v is a money scale, p and q are not.
    scale = 1.0 / float(m.mean())
    (ux, um), weights, _ = compress_rows(x, m * scale)
    total_w = weights.sum()
    levels = _levels(ux)

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = log_likelihood_terms(u, ux, um, with_grad=True, levels=levels)
        value = -float(weights @ ll) / total_w + penalizer * float(u @ u)
        return value, -(grad @ weights) / total_w + 2.0 * penalizer * u

    # Start from method-of-moments-ish values: p a few, q > 1, v so that p v / (q-1) ~ 1.
    start = np.log(np.array([2.0, 3.0, 1.0]))
    opt = minimize_log_params(objective, start)
    u = opt.log_params
    p, q, v_s = np.exp(u)
    v = v_s / scale
    full_ll, _ = log_likelihood_terms(np.log([p, q, v]), x, m)
    ll_value = float(full_ll.sum())
    if not np.isfinite([p, q, v, ll_value]).all():
        return _no_params(n, n_excluded, "not_converged", f"non-finite result: {opt.message}", penalizer)
    if opt.at_bound:
        status = "boundary_solution"
    elif not opt.converged:
        status = "not_converged"
    elif q <= 1.0:
        status = "infinite_mean_spend"
    else:
        status = "ok"
    return GammaGammaFit(
        p=float(p),
        q=float(q),
        v=float(v),
        log_likelihood=ll_value,
        n_customers=n,
        n_excluded_nonpositive=n_excluded,
        converged=opt.converged,
        status=status,
        message=opt.message,
        penalizer=penalizer,
    )


def score(
    fit_result: GammaGammaFit,
    frequency: np.ndarray,
    monetary_value: np.ndarray,
    own_mean_amount: np.ndarray,
) -> np.ndarray:
    """Expected average spend per customer, NaN meaning null.

    Model value where the model gives one; otherwise (no parameters, or q <= 1
    for customers without usable repeat spend) the customer's own mean purchase
    amount ``own_mean_amount`` when positive, else null.
    """
    own = np.asarray(own_mean_amount, dtype=np.float64)
    fallback = np.where(np.isfinite(own) & (own > 0), own, np.nan)
    if not fit_result.has_params:
        return fallback
    model = fit_result.conditional_expected_average_spend(frequency, monetary_value)
    return np.where(np.isnan(model), fallback, model)


def _no_params(n: int, n_excluded: int, status: str, message: str, penalizer: float) -> GammaGammaFit:
    return GammaGammaFit(None, None, None, None, n, n_excluded, False, status, message, penalizer)
