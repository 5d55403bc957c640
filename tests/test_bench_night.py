"""``crmwh bench --parts night``: figures per stage and step; a failed step keeps the figures before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from datetime import date

from crmwh.bench_night import BenchNightFailed, NightFigures, run_night
from crmwh.config import Settings


def test_a_failed_step_keeps_the_figures_before_it_and_names_the_step(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "crm" / "2026-11-01").mkdir(parents=True)
    settings = Settings(home=tmp_path, landing_dir=landing, warehouse_path=tmp_path / "warehouse" / "crm.duckdb",
                        work_dir=tmp_path / "work")
    settings.ensure_dirs()
    # a folder where the build database file should be: DuckDB cannot open it, so the
    # night's first step fails for real
    settings.build_db_path.mkdir(parents=True)
    with pytest.raises(BenchNightFailed) as failed:
        run_night(settings, date(2026, 11, 1), "full build")
    figures = failed.value.figures
    assert figures.failure is not None and figures.failure.startswith("begin: ")
    assert [step for _, step, _ in figures.steps] == ["begin"]
    report = figures.report()
    assert report.splitlines()[1].startswith("  FAILED at begin: ")
    assert "whole night" in report


def test_the_report_lists_long_steps_under_their_stage() -> None:
    figures = NightFigures(night=date(2026, 11, 2), kind="incremental", records=10,
                           seconds={"dbt": 5.5, "gates": 0.6},
                           steps=[("dbt", "dbt:staging", 2.0), ("dbt", "dbt:warehouse", 3.5),
                                  ("gates", "gates:staging", 0.6)])
    lines = figures.report().splitlines()
    dbt = next(i for i, line in enumerate(lines) if line.strip().startswith("dbt "))
    assert lines[dbt + 1].split() == ["dbt:staging", "2.00", "s"]
    assert lines[dbt + 2].split() == ["dbt:warehouse", "3.50", "s"]
    assert not any("gates:staging" in line for line in lines)  # under a second: only in its stage's sum
