"""``crmwh bench --parts night``: whole nights through the real pipeline steps, stage by stage.

Night 1 is the full build (the initial export with its history, every model built from
nothing); night 2 is one incremental night on top of it. Each runs exactly what the DAG's
tasks run (``crmwh.pipeline.steps``), in the DAG's order (``night_plan`` of the fault loop's
night runner), without Airflow's start-up; dbt runs with its data tests unless
``CRMWH_NIGHT_DBT_TESTS=0``:

    ingest  = begin + land + load_raw + reconcile for every system
    dbt     = build_models(staging) + build_models(warehouse)
    gates   = quality_gates(staging) + quality_gates(marts)
    publish = publish_warehouse (+ finish_night)

The floor is DuckDB reading that night's landed files once into plain tables
(``crmwh.bench.floor_read``); the ratio that matters is the whole night over it.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from crmwh.config import Settings
from crmwh.errors import CrmwhError, first_line
from crmwh.progress import progress
from crmwh.reliability.night_runner import STAGES


MIN_STEP_SHOWN_SECONDS = 1.0  # steps shorter than this are only in their stage's sum


class BenchNightFailed(Exception):
    """A step of a benchmarked night raised; carries the figures of the steps before it."""

    def __init__(self, figures: NightFigures) -> None:
        super().__init__(figures.failure)
        self.figures = figures


def peak_rss_mib() -> float:
    """Largest resident set so far of this process or any finished child (dbt runs as one), MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


@dataclass
class NightFigures:
    night: date
    kind: str                       # "full build" or "incremental"
    records: int = 0                # records the night's files delivered (rows_in)
    seconds: dict[str, float] = field(default_factory=dict)
    steps: list[tuple[str, str, float]] = field(default_factory=list)  # (stage, step, seconds), in order
    floor_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    failure: str | None = None      # "<step>: <error>" when the night stopped there

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def report(self) -> str:
        lines = [f"{self.kind}: night {self.night}, {self.records:,} records"]
        if self.failure:
            lines.append(f"  FAILED at {self.failure} (its time is in its stage; later steps did not run)")
        for stage in STAGES:
            seconds = self.seconds.get(stage, 0.0)
            rate = f"{self.records / seconds:12,.0f} rows/s" if seconds else ""
            lines.append(f"  {stage:<18}{seconds:10.2f} s   {rate}")
            lines += [f"    {step:<30}{step_seconds:8.2f} s" for step_stage, step, step_seconds in self.steps
                      if step_stage == stage and step_seconds >= MIN_STEP_SHOWN_SECONDS]
        ratio = self.total_seconds / self.floor_seconds if self.floor_seconds else float("nan")
        lines += [
            f"  whole night       {self.total_seconds:10.2f} s   {self.records / max(self.total_seconds, 1e-9):12,.0f} rows/s",
            f"  floor (plain read){self.floor_seconds:10.2f} s",
            f"  night / floor     {ratio:10.1f} x   (ingest / floor {self.seconds.get('ingest', 0.0) / self.floor_seconds if self.floor_seconds else float('nan'):.1f} x)",
            f"  peak RSS          {self.peak_rss_mib:10.0f} MiB (this process or dbt, whichever is larger)",
        ]
        return "\n".join(lines)

    def as_figures(self, prefix: str) -> dict[str, float]:
        figures = {f"{prefix}_{stage}_seconds": self.seconds.get(stage, 0.0) for stage in STAGES}
        figures.update({f"{prefix}_seconds": self.total_seconds, f"{prefix}_records": float(self.records),
                        f"{prefix}_floor_seconds": self.floor_seconds,
                        f"{prefix}_to_floor_ratio": self.total_seconds / self.floor_seconds if self.floor_seconds else 0.0,
                        f"{prefix}_peak_rss_mib": self.peak_rss_mib})
        return figures


def run_night(settings: Settings, night: date, kind: str) -> NightFigures:
    """Run one night through every step in the DAG's order (``night_plan``), timing each stage."""
    from crmwh.bench import floor_read
    from crmwh.pipeline import steps
    from crmwh.reliability.night_runner import night_plan

    run_id = f"bench_{night.isoformat()}"
    figures = NightFigures(night=night, kind=kind)
    progress(f"bench night {night} ({kind}): floor")
    floor_db = settings.work_dir / "bench_floor.duckdb"
    figures.floor_seconds = floor_read(settings.landing_dir, floor_db, nights=[night]).seconds
    floor_db.unlink(missing_ok=True)
    common = {"night": night, "run_id": run_id, "settings": settings}
    plan = [("ingest", "begin", lambda: steps.begin_night(**common)), *night_plan(settings, night, run_id),
            ("publish", "finish", lambda: steps.finish_night(**common))]
    for stage, step, call in plan:
        progress(f"bench night {night} ({kind}): {step}")
        started = time.perf_counter()
        try:
            result = call()
        except Exception as exc:  # the stages before the failure are still worth printing
            figures.failure = f"{step}: {type(exc).__name__}: {first_line(exc)}"
            figures.peak_rss_mib = peak_rss_mib()
            raise BenchNightFailed(figures) from exc
        finally:
            elapsed = time.perf_counter() - started
            figures.seconds[stage] = figures.seconds.get(stage, 0.0) + elapsed
            figures.steps.append((stage, step, elapsed))
        if step.startswith("load_raw:"):
            figures.records += result.get("rows_in", 0)
    figures.peak_rss_mib = peak_rss_mib()
    return figures


def bench_nights(root: Path, landing: Path) -> dict[str, float]:
    """The first landed night as a full build, then the second as an incremental night."""
    from ingestion.landing import nights_in

    settings = Settings(home=root, landing_dir=landing, warehouse_path=root / "warehouse" / "crm.duckdb",
                        work_dir=root / "work_night")
    nights = nights_in(settings.landing_dir)
    if len(nights) < 2:
        raise CrmwhError("bench night needs at least 2 nights (--nights 2 or more)")
    settings.ensure_dirs()
    settings.build_db_path.unlink(missing_ok=True)
    results: list[NightFigures] = []
    try:
        for night, kind in ((nights[0], "full build"), (nights[1], "incremental")):
            results.append(run_night(settings, night, kind))
    except BenchNightFailed as failed:
        print_nights([*results, failed.figures])
        raise CrmwhError(f"bench night {failed.figures.night} ({failed.figures.kind}) failed at "
                         f"{failed.figures.failure}; the figures above are what ran before it") from failed
    print_nights(results)
    figures: dict[str, float] = {}
    for result, prefix in zip(results, ("night_full", "night_incremental")):
        figures.update(result.as_figures(prefix))
    return figures


def print_nights(results: list[NightFigures]) -> None:
    print("\nwhole nights through the pipeline steps (crmwh.pipeline.steps, the DAG's order, no Airflow)")
    for result in results:
        print("  " + result.report().replace("\n", "\n  "))
