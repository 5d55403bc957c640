"""Shared maximum-likelihood driver: L-BFGS-B on bounded log-parameters.

Why one helper: both models need the same bounds, tolerances and the same
judgement of "converged". L-BFGS-B sometimes ends with ABNORMAL_TERMINATION_IN_LNSRCH
when the objective is already flat to machine precision; a fit is accepted as
converged when scipy says so or when the projected gradient is tiny anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

LOG_BOUND = 18.0  # |log parameter| limit: exp(18) ~ 6.6e7, far beyond any real fit
# Beyond this |log parameter| (~1e5 on the internal scales, where T max is 10 and
# mean spend is 1) a parameter is running off to 0 or infinity: the data do not
# identify it (tiny or identical samples). Real fits sit far inside.
DRIFT_BOUND = 11.5
GRADIENT_TOL = 1e-6


@dataclass(frozen=True)
class Optimum:
    log_params: np.ndarray
    converged: bool
    at_bound: bool
    message: str


def minimize_log_params(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray
) -> Optimum:
    """Minimise ``objective(u) -> (value, gradient)`` over log-parameters u within +-LOG_BOUND."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    res = minimize(
        objective,
        np.asarray(start, dtype=np.float64),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9},
    )
    u = np.clip(res.x, -LOG_BOUND, LOG_BOUND)
    at_bound = bool(np.any(np.abs(u) > DRIFT_BOUND))
    _, grad = objective(u)
    interior = np.abs(u) <= DRIFT_BOUND
    flat = bool(np.all(np.isfinite(grad)) and np.max(np.abs(grad[interior]), initial=0.0) < GRADIENT_TOL)
    return Optimum(u, bool(res.success) or flat, at_bound, str(res.message))
