"""Airflow's own backfill (`airflow backfill create`) runs crm_nightly night by night.

Backfills are carried out by the scheduler, so this test starts the production shape of
Airflow 3 on this machine: a PostgreSQL metadata database (the test server; SQLite locks
under several processes), the api-server (task workers report through its execution API),
the scheduler with the LocalExecutor, and the dag-processor. Two xs nights are landed, a
backfill over both is created from the CLI, and the test waits for both runs and checks
the published warehouse's audit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from crmwh.config import load_settings
from crmwh.pipeline.airflow_runner import airflow_environment

try:
    from support.postgres_server import PostgresServer, free_port
except ImportError:  # tests/ became a package
    from tests.support.postgres_server import PostgresServer, free_port

AIRFLOW = str(Path(sys.executable).parent / "airflow")
NIGHTS = [date(2026, 11, 1), date(2026, 11, 2)]
RUNS_TIMEOUT_SECONDS = float(os.environ.get("CRMWH_TEST_BACKFILL_TIMEOUT", "1500"))


def _airflow(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"airflow {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path} missing)"


@pytest.fixture()
def airflow_stack(tmp_path: Path, postgres_server: PostgresServer,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict[str, str], Path]]:
    """Environment of a running api-server + scheduler + dag-processor, and the folder of their logs."""
    home = tmp_path / "home"
    monkeypatch.setenv("CRMWH_HOME", str(home))
    settings = load_settings()
    settings.ensure_dirs()
    database = f"airflow_backfill_{os.getpid()}"
    postgres_server.create_database(database)
    port = free_port()
    # psycopg 3 serves both the sync and the async engine (Airflow would pick asyncpg for the latter).
    metadata_url = f"postgresql+psycopg://{postgres_server.user}@127.0.0.1:{postgres_server.port}/{database}"
    env = {
        **os.environ,
        **airflow_environment(settings),
        "CRMWH_HOME": str(home),
        "CRMWH_TASK_RETRIES": "0",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "set", "crmwh_warehouse", "1", "crmwh build database: one writer")
    logs = tmp_path / "airflow_logs"
    logs.mkdir()
    processes: list[subprocess.Popen] = []
    try:
        for component in (["api-server", "--port", str(port)], ["scheduler"], ["dag-processor"]):
            log = open(logs / f"{component[0]}.log", "w")
            processes.append(subprocess.Popen([AIRFLOW, *component], env=env, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
        yield env, logs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_dag(env: dict[str, str], logs: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        listed = _airflow(env, "dags", "list", "-o", "json", check=False)
        if listed.returncode == 0 and "crm_nightly" in listed.stdout:
            return
        time.sleep(5)
    raise AssertionError(f"the dag-processor never registered crm_nightly:\n{_tail(logs / 'dag-processor.log')}")


def _runs(env: dict[str, str]) -> list[dict]:
    listed = _airflow(env, "dags", "list-runs", "crm_nightly", "-o", "json")
    # Airflow may print warnings (e.g. "[warning ] Could not import graphviz") before the JSON line.
    lines = [line for line in listed.stdout.splitlines() if line.startswith("[{") or line.strip() == "[]"]
    return json.loads(lines[-1]) if lines else []


@pytest.mark.slow
def test_airflow_backfill_create_runs_each_night_in_order(airflow_stack: tuple[dict[str, str], Path]) -> None:
    from crmwh.simulator import generate

    env, logs = airflow_stack
    settings = load_settings()
    generate(scale="xs", nights=len(NIGHTS), out_dir=settings.landing_dir, start=NIGHTS[0])
    _wait_for_dag(env, logs)
    # The scheduler only runs an unpaused DAG's runs, backfills included. Unpausing also starts the
    # latest scheduled night (no extracts there: it fails in `begin`); the one-slot pool keeps it from
    # touching the build file while a backfill night runs.
    _airflow(env, "dags", "unpause", "crm_nightly")
    # Runs start at 02:00 (the cron): the window must reach past the last night's 02:00.
    _airflow(env, "backfill", "create", "--dag-id", "crm_nightly", "--max-active-runs", "1",
             "--from-date", NIGHTS[0].isoformat(), "--to-date", (NIGHTS[-1] + timedelta(days=1)).isoformat())

    deadline = time.monotonic() + RUNS_TIMEOUT_SECONDS
    runs: list[dict] = []
    while time.monotonic() < deadline:
        runs = [run for run in _runs(env) if run["run_id"].startswith("backfill__")]
        if len(runs) == len(NIGHTS) and all(run["state"] in ("success", "failed") for run in runs):
            break
        time.sleep(10)
    states = {run["logical_date"][:10]: run["state"] for run in runs}
    assert states == {night.isoformat(): "success" for night in NIGHTS}, (
        f"backfill runs: {runs}\n--- scheduler log ---\n{_tail(logs / 'scheduler.log')}")

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        nights = con.execute("select logical_date, status, published from audit.nights "
                             "where run_id like 'backfill__%' order by logical_date").fetchall()
        assert nights == [(night, "success", True) for night in NIGHTS]
        assert con.execute("select count(distinct _night) from raw.erp__orders").fetchone()[0] == len(NIGHTS)
    finally:
        con.close()
    # The build database has the whole record (a published copy predates its own publish step's row):
    # both nights published and wrote their report.
    con = duckdb.connect(str(settings.build_db_path), read_only=True)
    try:
        steps = con.execute("""select step, count(distinct logical_date) from audit.night_steps
                               where run_id like 'backfill__%' and status = 'success' and step in ('publish', 'report')
                               group by step order by step""").fetchall()
        assert steps == [("publish", len(NIGHTS)), ("report", len(NIGHTS))]
    finally:
        con.close()
