"""A dbt model that fails mid-night keeps the last good warehouse; `crmwh backfill` runs nights in order.

The failing model is real: a copy of the shipped dbt project with one extra model that raises at
run time, selected through CRMWH_DBT_PROJECT_DIR (the setting teams use to run their own
extension of the project).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from crmwh.resources import dbt_project_dir

try:
    from test_night_faults import FIRST, GOOD_FIRST, GOOD_NIGHT, NIGHT, build_nights, crmwh, deliver, sha256
except ImportError:
    from tests.test_night_faults import FIRST, GOOD_FIRST, GOOD_NIGHT, NIGHT, build_nights, crmwh, deliver, sha256


@pytest.mark.slow
def test_backfill_then_a_failing_dbt_model_keeps_the_published_warehouse(tmp_path: Path):
    home = tmp_path / "home"
    deliver(home, "shop", FIRST, GOOD_FIRST)
    deliver(home, "shop", NIGHT, GOOD_NIGHT)

    backfill = crmwh(home, "backfill", "--start", FIRST.isoformat(), "--end", NIGHT.isoformat())
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    warehouse = home / "warehouse" / "crm.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select logical_date, status, published from audit.nights order by 1").fetchall() == [
            (FIRST, "success", True), (NIGHT, "success", True)]
        assert con.execute("select max(as_of_date) from marts.customer_value").fetchone()[0] == NIGHT
    finally:
        con.close()
    before = sha256(warehouse)

    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "simhome"))
    (project / "models" / "marts" / "injected_failure.sql").write_text(
        "select error('injected failure: this model always fails') as boom\n")
    failed = crmwh(home, "nightly", "--date", NIGHT.isoformat(), env={"CRMWH_DBT_PROJECT_DIR": str(project)})
    assert failed.returncode == 1
    assert "dbt:warehouse" in failed.stderr and "injected_failure" in failed.stderr
    assert sha256(warehouse) == before
    status, published, reason = build_nights(home, NIGHT)[-1]
    assert (status, published) == ("failed", False) and reason.startswith("dbt:warehouse")

    recovered = crmwh(home, "nightly", "--date", NIGHT.isoformat())
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert build_nights(home, NIGHT)[-1][:2] == ("success", True)
