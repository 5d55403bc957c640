"""Benchmark hook for ``crmwh bench``: how long a dbt build takes, full refresh vs one incremental night.

The aim (issue 3) is an incremental night costing under a tenth of a full refresh at
scale m; this measures both on the build warehouse the settings point to, which must
already hold the raw tables (and, for an incremental figure, a previous build).
"""

from __future__ import annotations

import resource
import time
from datetime import date
from typing import Any

from crmwh.config import Settings
from crmwh.errors import CrmwhError
from crmwh.pipeline.dbt_runner import run_dbt


def _children_peak_rss_mib() -> float:
    # ru_maxrss of RUSAGE_CHILDREN is the largest resident set of any waited-for child so far
    # (KiB on Linux): the dbt process's peak, unless an earlier child of this process was larger.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def time_dbt(settings: Settings, full_refresh: bool, *, as_of: date | None = None,
             select: str | None = None) -> dict[str, Any]:
    """Run ``dbt build`` once (``--full-refresh`` or incremental) and return its wall time and peak memory.

    Returns ``{"mode", "seconds", "dbt_elapsed_seconds", "peak_rss_mib", "models", "tests"}``;
    raises CrmwhError when the build fails, since a failed build's time means nothing.
    """
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    started = time.perf_counter()
    result = run_dbt(settings, args, as_of=as_of)
    seconds = time.perf_counter() - started
    if not result.ok:
        raise CrmwhError(f"dbt build for the benchmark failed: {'; '.join(result.failures[:3])}")
    return {
        "mode": "full_refresh" if full_refresh else "incremental",
        "seconds": round(seconds, 2),
        "dbt_elapsed_seconds": round(result.elapsed_seconds, 2),
        "peak_rss_mib": round(_children_peak_rss_mib(), 1),
        "models": result.count("model", "success"),
        "tests": result.count("test"),
    }
