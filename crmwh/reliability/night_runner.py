"""Run one night through ``crmwh.pipeline.steps`` in the DAG's order, without Airflow.

The fault-injection loop runs this in a subprocess and kills it; every stage starts with a line
``STAGE <stage> <step>`` on stdout (flushed) so the killer knows where the night is. The order and
the failure handling are the DAG's: the steps in order, and ``finish_night`` whatever happened
(the DAG's ``finish`` task has ``trigger_rule=all_done``).

    python -m crmwh.reliability.night_runner --date 2026-11-02 [--run-id ID] [--no-dbt-tests]

``--no-dbt-tests`` (or ``CRMWH_NIGHT_DBT_TESTS=0``) builds each dbt layer's models, seeds and
snapshots but skips its data tests, the same writes at about half the time: the CI fault loop
uses it; the figures for the docs come from full nights.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from crmwh.config import Settings, load_settings
from crmwh.errors import CrmwhError
from crmwh.pipeline import steps

STAGES = ("ingest", "dbt", "gates", "publish")


def dbt_tests_enabled() -> bool:
    return os.environ.get("CRMWH_NIGHT_DBT_TESTS", "1").strip() not in ("0", "false", "no")


def announce(stage: str, step: str) -> None:
    print(f"STAGE {stage} {step}", flush=True)


def night_plan(settings: Settings, night: date, run_id: str) -> list[tuple[str, str, Callable[[], Any]]]:
    """``(stage, step, call)`` for every step after ``begin``, in the DAG's dependency order."""
    common: dict[str, Any] = {"night": night, "run_id": run_id, "settings": settings}
    data_tests = dbt_tests_enabled()
    plan: list[tuple[str, str, Callable[[], Any]]] = []
    for system in steps.pipeline_systems(settings):
        plan += [
            ("ingest", f"land:{system}", lambda s=system: steps.land_system(system=s, **common)),
            ("ingest", f"load_raw:{system}", lambda s=system: steps.load_system(system=s, **common)),
            ("ingest", f"reconcile:{system}", lambda s=system: steps.reconcile_system(system=s, **common)),
        ]
    plan += [
        ("ingest", "load_raw:other_systems", lambda: steps.load_other_systems(**common)),
        ("dbt", "dbt:staging", lambda: steps.build_models(layer="staging", data_tests=data_tests, **common)),
        ("gates", "gates:staging", lambda: steps.quality_gates(stage="staging", **common)),
        ("dbt", "dbt:warehouse", lambda: steps.build_models(layer="warehouse", data_tests=data_tests, **common)),
        ("gates", "gates:marts", lambda: steps.quality_gates(stage="marts", **common)),
        ("publish", "publish", lambda: steps.publish_warehouse(**common)),
    ]
    return plan


def run_night(night: date, run_id: str | None = None, settings: Settings | None = None) -> bool:
    """Run the night; True when it published. A failed step stops the chain, like upstream_failed."""
    settings = settings or load_settings()
    run_id = run_id or f"steps__{night.isoformat()}__{uuid.uuid4().hex[:8]}"
    announce("ingest", "begin")
    try:
        steps.begin_night(night=night, run_id=run_id, settings=settings)
        for stage, step, call in night_plan(settings, night, run_id):
            announce(stage, step)
            call()
    except Exception as exc:  # noqa: BLE001 - like the DAG: a failed task still lets `finish` run
        print(f"step failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    announce("finish", "finish")
    try:
        steps.finish_night(night=night, run_id=run_id, settings=settings)
    except CrmwhError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return False
    announce("done", "done")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="the night, YYYY-MM-DD")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--no-dbt-tests", action="store_true", help="build models, seeds and snapshots only")
    args = parser.parse_args(argv)
    if args.no_dbt_tests:
        os.environ["CRMWH_NIGHT_DBT_TESTS"] = "0"
    return 0 if run_night(args.date, args.run_id) else 1


if __name__ == "__main__":
    sys.exit(main())
