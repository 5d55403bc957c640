"""The crm_nightly DAG: imports cleanly, has the documented shape, and `airflow dags test` runs a night."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import duckdb
import pytest

from crmwh.config import load_settings
from crmwh.pipeline.airflow_runner import airflow_environment, prepare_airflow
from crmwh.resources import dags_dir


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRMWH_HOME", str(tmp_path))
    for name in ("CRMWH_CONFIG", "CRMWH_LANDING_DIR", "CRMWH_WAREHOUSE", "CRMWH_WORK_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_dagbag_imports_without_errors_or_warnings(home):
    prepare_airflow(load_settings())
    from airflow.dag_processing.dagbag import DagBag

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = DagBag(dag_folder=str(dags_dir()))
    assert bag.import_errors == {}
    ours = [w for w in caught if "crmwh" in str(w.filename) or "dags" in str(w.filename)]
    assert ours == [], [str(w.message) for w in ours]
    dag = bag.get_dag("crm_nightly")
    task_ids = set(dag.task_ids)
    for system in ("crm", "erp", "helpdesk", "callcenter"):
        assert {f"{system}.land", f"{system}.load_raw", f"{system}.reconcile"} <= task_ids
    assert {"begin", "load_other_systems", "dbt_staging", "gates_staging", "dbt_warehouse", "gates_marts",
            "publish", "report", "finish"} <= task_ids
    assert dag.get_task("publish").upstream_task_ids == {"gates_marts"}
    assert dag.get_task("report").upstream_task_ids == {"publish"}
    assert dag.get_task("finish").upstream_task_ids == {"report"}
    assert dag.get_task("finish").trigger_rule == "all_done"
    assert dag.get_task("erp.load_raw").retries >= 1
    assert {task.pool for task in dag.tasks} == {"crmwh_warehouse"}
    assert "expression='0 2 * * *'" in repr(dag.timetable)


@pytest.mark.slow
def test_airflow_dags_test_runs_an_xs_night_and_publishes(home):
    """`airflow dags test` (the CLI, as an operator runs it) on one night of simulated xs data,
    plus a bring-your-own orders file under a system of its own."""
    from crmwh.simulator import generate

    night = date(2026, 11, 1)
    generate(scale="xs", nights=1, out_dir=home / "landing", start=night)
    folder = home / "landing" / "shop" / night.isoformat()
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_text(
        "customer_id,order_id,order_date,amount,cost\n"
        "C1,O1,2026-10-01,120.00,70.00\nC1,O2,2026-10-21,80.00,50.00\nC2,O3,2026-10-10,60.00,20.00\n"
        "C3,O4,not-a-date\n"
    )
    settings = load_settings()
    env = {**os.environ, **airflow_environment(settings), "CRMWH_TASK_RETRIES": "0"}
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, check=True,
                   capture_output=True)
    result = subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "test", "crm_nightly",
                             night.isoformat()], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute("select status, published from audit.nights").fetchall() == [("success", True)]
        assert con.execute(
            "select rows_in, rows_loaded, rows_quarantined from audit.load_ledger where source_system = 'shop'"
        ).fetchall() == [(4, 3, 1)]
        systems = con.execute(
            "select source_system from audit.load_ledger group by 1 having sum(rows_loaded) > 0 order by 1"
        ).fetchall()
        assert systems == [("callcenter",), ("crm",), ("erp",), ("helpdesk",), ("shop",)]
        assert con.execute("select count(*) from audit.load_ledger where rows_in <> rows_loaded + rows_quarantined"
                           ).fetchone()[0] == 0
        assert con.execute("select count(distinct value_group) from marts.customer_value").fetchone()[0] == 4
    finally:
        con.close()
    report = settings.reports_dir / f"crmwh_report_{night.isoformat()}.html"
    assert report.stat().st_size > 100_000, "the report task should write the night's HTML report"
