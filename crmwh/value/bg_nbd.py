"""BG/NBD purchase model: how often a customer buys and whether they are still "alive".

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An
Alternative to the Pareto/NBD Model", Marketing Science 24(2): while alive a
customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after
each repeat purchase they drop out with probability p ~ Beta(a, b). A customer
is summarised by (x = frequency, t_x = recency, T).

Why this implementation rather than a library: it must run nightly on 1M
customers in seconds, degrade to a status instead of an exception, and stay
inside the pinned stack (numpy/scipy). The likelihood (paper, eq. 6) is
evaluated in log space with ``logaddexp``; the optimiser works on
log-parameters with the analytic gradient; identical (x, t_x, T) rows are
fitted once with a count weight (sufficient-statistics compression).

Statuses of a fit (``BgNbdFit.status``):

- ``ok``: converged, interior solution;
- ``no_customers`` / ``too_few_customers``: nothing (or fewer than
  ``min_customers``) to fit; parameters null;
- ``insufficient_repeat_buyers``: nobody bought twice, so the purchase rate
  and the dropout process are not identifiable (the likelihood keeps rising as
  the rate goes to 0); parameters null. Fallback in :func:`score`: expected
  purchases 0 (the limit of the MLE), ``p_alive`` null (not identifiable);
- ``boundary_solution``: a parameter ran off towards 0 or infinity (beyond
  e^±11.5 on the internal scale; e.g. tiny samples or all customers
  identical: no heterogeneity to estimate); parameters and scores are the
  finite boundary values, to be read with care;
- ``not_converged``: the optimiser stopped early; values are its last iterate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from crmwh.errors import CrmwhError
from crmwh.value.compress import compress_rows
from crmwh.value.optimize import minimize_log_params

PARAM_NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BgNbdFit:
    """Fitted BG/NBD parameters (time in the unit of the data) and how the fit went."""

    r: float | None
    alpha: float | None
    a: float | None
    b: float | None
    log_likelihood: float | None
    n_customers: int
    n_repeat_buyers: int
    converged: bool
    status: str
    message: str = ""
    penalizer: float = 0.0

    @property
    def has_params(self) -> bool:
        return self.r is not None

    def params(self) -> dict[str, float | None]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    def expected_purchases(self, t: float | np.ndarray) -> np.ndarray:
        """Unconditional E[X(t)] for a new customer over t time units (paper, eq. 9)."""
        self._require_params()
        r, alpha, a, b = _adjusted(self)
        t = np.asarray(t, dtype=np.float64)
        z = t / (alpha + t)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            term = 1.0 - np.exp(r * np.log(alpha / (alpha + t))) * hyp2f1(r, b, a + b - 1.0, z)
            out = (a + b - 1.0) / (a - 1.0) * term
        return np.where(t <= 0, 0.0, out)

    def conditional_expected_purchases(
        self, t: float | np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: purchases in the next t time units (paper, eq. 10)."""
        self._require_params()
        r, alpha, a, b = _adjusted(self)
        x, tx, big_t = _as_arrays(frequency, recency, T)
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
        palive = self.p_alive(x, tx, big_t)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_ratio = (r + x) * np.log((alpha + big_t) / (alpha + big_t + t))
            z = t / (alpha + big_t + t)
            term = 1.0 - np.exp(log_ratio) * hyp2f1(r + x, b + x, a + b + x - 1.0, z)
            out = (a + b + x - 1.0) / (a - 1.0) * term * palive
        out = np.where(t <= 0, 0.0, out)
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = _expected_by_quadrature(r, alpha, a, b, x[bad], big_t[bad], t[bad]) * palive[bad]
        return out

    def p_alive(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(alive | x, t_x, T); 1 for x = 0 by the model's definition (drop-out follows a purchase)."""
        self._require_params()
        r, alpha, a, b = _adjusted(self)
        x, tx, big_t = _as_arrays(frequency, recency, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds_dead = (
                np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
            )
        return np.where(x > 0, expit(-log_odds_dead), 1.0)

    def _require_params(self) -> None:
        if not self.has_params:
            raise CrmwhError(f"BG/NBD has no parameters (status {self.status}): use score() for fallbacks")


def _adjusted(fit: BgNbdFit) -> tuple[float, float, float, float]:
    """Parameters, with a nudged off exactly 1 where the closed forms have a removable 0/0."""
    a = float(fit.a)  # type: ignore[arg-type]
    if abs(a - 1.0) < 1e-7:
        a = 1.0 + 1e-7
    return float(fit.r), float(fit.alpha), a, float(fit.b)  # type: ignore[arg-type]


def _as_arrays(*cols: object) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(c, dtype=np.float64) for c in cols)


def _expected_by_quadrature(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, big_t: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """E[Y(t) | alive] by integrating over p's posterior Beta(a, b+x) (fallback when 2F1 overflows).

    Given alive, lambda | data ~ Gamma(r+x, alpha+T) and future purchases have
    mean (1/p)(1 - (1 + p t/(alpha+T))^-(r+x)); Gauss-Jacobi nodes integrate
    that over p for each distinct x.
    """
    from scipy.special import roots_jacobi

    out = np.empty_like(x)
    for xv in np.unique(x):
        idx = x == xv
        nodes, weights = roots_jacobi(64, b + xv - 1.0, a - 1.0)  # weight (1-y)^(b+x-1) (1+y)^(a-1)
        p = (nodes + 1.0) / 2.0
        w = weights / weights.sum()
        c = (alpha + big_t[idx])[:, None]
        f = -np.expm1(-(r + xv) * np.log1p(p[None, :] * t[idx][:, None] / c)) / p[None, :]
        out[idx] = f @ w
    return out


def x_levels(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct frequencies and each row's index into them (special functions per distinct x only)."""
    levels, inverse = np.unique(x, return_inverse=True)
    return levels, inverse.ravel()


def log_likelihood_terms(
    log_params: np.ndarray,
    x: np.ndarray,
    tx: np.ndarray,
    big_t: np.ndarray,
    with_grad: bool = False,
    levels: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-row log-likelihood (paper, eq. 6) and, optionally, its gradient in log-parameters.

    Terms that depend on (parameters, x) only -- gamma, beta and digamma
    functions -- are computed once per distinct x (``levels``, from
    :func:`x_levels`) and gathered: frequencies take few values, so this is
    what makes an evaluation on 1M customers cost milliseconds.
    """
    r, alpha, a, b = np.exp(log_params)
    xs, xi = levels if levels is not None else x_levels(x)
    rep_s = xs > 0
    bx1_s = np.where(rep_s, b + xs - 1.0, 1.0)  # dummy value where x = 0 (term unused)
    beta_ab = betaln(a, b)
    common_s = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    beta1_s = betaln(a, b + xs) - beta_ab
    beta2_s = np.where(rep_s, betaln(a + 1.0, bx1_s) - beta_ab, -np.inf)
    rx = r + x
    log_at = np.log(alpha + big_t)
    log_atx = np.log(alpha + tx)
    term1 = beta1_s[xi] - rx * log_at
    term2 = beta2_s[xi] - rx * log_atx  # -inf where x = 0
    # log(e^term1 + e^term2) as max + log1p(e^-|d|): same stability as np.logaddexp, ~5x faster.
    with np.errstate(invalid="ignore"):
        d = term1 - term2  # +inf where x = 0
    lse = np.maximum(term1, term2) + np.log1p(np.exp(-np.abs(d)))
    ll = common_s[xi] + lse
    if not with_grad:
        return ll, None
    w1 = expit(d)  # share of the likelihood from "still alive"
    w2 = expit(-d)  # share from "dropped out after the last purchase"; 0 where x = 0
    psi_ab = digamma(a + b)
    psi_abx_s = digamma(a + b + xs)
    dr_s = digamma(r + xs) - digamma(r) + np.log(alpha)
    da1_s = psi_ab - psi_abx_s
    da2_s = digamma(a + 1.0) - digamma(a) + psi_ab - psi_abx_s
    db1_s = digamma(b + xs) - psi_abx_s - digamma(b) + psi_ab
    db2_s = digamma(bx1_s) - psi_abx_s - digamma(b) + psi_ab
    d_r = dr_s[xi] - w1 * log_at - w2 * log_atx
    d_alpha = r / alpha - rx * (w1 / (alpha + big_t) + w2 / (alpha + tx))
    d_a = w1 * da1_s[xi] + w2 * da2_s[xi]
    d_b = w1 * db1_s[xi] + w2 * db2_s[xi]
    grad = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return ll, grad


def fit(
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    *,
    penalizer: float = 0.0,
    min_customers: int = 2,
    initial: tuple[float, float, float, float] | None = None,
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit on per-customer (frequency, recency, T).

    ``penalizer`` adds ``penalizer * sum(log(param)^2)`` (parameters on the
    internal time scale where the longest T is 10) to the mean negative
    log-likelihood: a ridge towards 1 that keeps tiny or degenerate samples
    finite. 0 (the default) is plain maximum likelihood.
    """
    x, tx, big_t = _validate(frequency, recency, T)
    n = int(x.size)
    n_repeat = int((x > 0).sum())
    if n == 0:
        return _no_params(0, 0, "no_customers", "no customers to fit", penalizer)
    if n < min_customers:
        return _no_params(n, n_repeat, "too_few_customers", f"{n} customer(s), need {min_customers}", penalizer)
    if n_repeat == 0:
        return _no_params(
            n, 0, "insufficient_repeat_buyers", "no customer bought twice: BG/NBD not identifiable", penalizer
        )

    # Rescale time so the longest T is 10: keeps alpha near 1 for any unit.
    scale = 10.0 / float(big_t.max())
    (ux, utx, ut), weights, _ = compress_rows(x, tx * scale, big_t * scale)
    total_w = weights.sum()
    levels = x_levels(ux)

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = log_likelihood_terms(u, ux, utx, ut, with_grad=True, levels=levels)
        value = -float(weights @ ll) / total_w + penalizer * float(u @ u)
        g = -(grad @ weights) / total_w + 2.0 * penalizer * u
        return value, g

    start = np.log(np.array(initial if initial else (1.0, 1.0, 1.0, 1.0), dtype=np.float64))
    if initial:
        start[1] += np.log(scale)
    opt = minimize_log_params(objective, start)
    u = opt.log_params
    r, alpha_s, a, b = np.exp(u)
    alpha = alpha_s / scale
    full_ll, _ = log_likelihood_terms(np.log([r, alpha, a, b]), x, tx, big_t)
    ll_value = float(full_ll.sum())
    finite = bool(np.isfinite([r, alpha, a, b, ll_value]).all())
    if not finite:
        return _no_params(n, n_repeat, "not_converged", f"non-finite result: {opt.message}", penalizer)
    status = "boundary_solution" if opt.at_bound else ("ok" if opt.converged else "not_converged")
    return BgNbdFit(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        log_likelihood=ll_value,
        n_customers=n,
        n_repeat_buyers=n_repeat,
        converged=opt.converged,
        status=status,
        message=opt.message,
        penalizer=penalizer,
    )


def score(
    fit_result: BgNbdFit, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, horizon: float
) -> tuple[np.ndarray, np.ndarray]:
    """(expected purchases over ``horizon``, p_alive) per customer, NaN meaning null.

    With parameters: the model's values (evaluated once per distinct
    (x, t_x, T)). Without (status ``insufficient_repeat_buyers``): expected
    purchases 0 and p_alive null; other parameter-less statuses: both null.
    """
    x, tx, big_t = _as_arrays(frequency, recency, T)
    if not fit_result.has_params:
        expected = np.zeros_like(x) if fit_result.status == "insufficient_repeat_buyers" else np.full_like(x, np.nan)
        return expected, np.full_like(x, np.nan)
    (ux, utx, ut), _, inverse = compress_rows(x, tx, big_t)
    expected = fit_result.conditional_expected_purchases(horizon, ux, utx, ut)
    palive = fit_result.p_alive(ux, utx, ut)
    expected = np.where(np.isfinite(expected), expected, np.nan)
    palive = np.where(np.isfinite(palive), palive, np.nan)
    return expected[inverse], palive[inverse]


def _no_params(n: int, n_repeat: int, status: str, message: str, penalizer: float) -> BgNbdFit:
    return BgNbdFit(None, None, None, None, None, n, n_repeat, False, status, message, penalizer)


def _validate(frequency: object, recency: object, T: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, tx, big_t = _as_arrays(frequency, recency, T)
    if not (x.shape == tx.shape == big_t.shape):
        raise CrmwhError("frequency, recency and T must have the same length")
    if x.size and (
        not np.isfinite(x).all()
        or not np.isfinite(tx).all()
        or not np.isfinite(big_t).all()
        or (x < 0).any()
        or (x != np.round(x)).any()
        or (tx < 0).any()
        or (tx > big_t + 1e-9).any()
    ):
        raise CrmwhError(
            "BG/NBD input invalid: frequency must be a whole number >= 0 and 0 <= recency <= T, all finite"
        )
    return x, tx, big_t
