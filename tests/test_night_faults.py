"""Injected faults through the real crm_nightly DAG: a source that fails mid-night and a blocking
gate that fails. Each leaves the published warehouse byte-identical and
readable, records the night as failed with the failing step named in ``audit.nights`` and in the
task log, and the next run (fault removed) publishes without any manual clean-up.

Nights run as a user runs them: ``crmwh nightly --date`` in a subprocess (which calls
``run_night``, i.e. ``dag.test()``), with ``CRMWH_TASK_RETRIES=0``: one good first night, then
the same next night re-run with one fault after another, then the night after (the bad order
corrected by its source) publishes.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from crmwh.config import load_settings
from crmwh.errors import CrmwhError
from crmwh.pipeline import steps

FIRST = date(2026, 11, 20)
NIGHT = date(2026, 11, 21)
NEXT = date(2026, 11, 22)
HEADER = "customer_id,order_id,order_date,amount,cost\n"
GOOD_FIRST = HEADER + "C1,O1,2026-10-01,120.00,70.00\nC1,O2,2026-11-01,80.00,50.00\nC2,O3,2026-11-10,60.00,20.00\n"
GOOD_NIGHT = HEADER + "C1,O4,2026-11-20,40.00,10.00\nC3,O5,2026-11-21,90.00,30.00\n"


def crmwh(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "CRMWH_HOME": str(home), "CRMWH_TASK_RETRIES": "0", **(env or {})}
    for name in ("CRMWH_CONFIG", "CRMWH_LANDING_DIR", "CRMWH_WAREHOUSE", "CRMWH_WORK_DIR", "AIRFLOW_HOME",
                 "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        full.pop(name, None)
    return subprocess.run([sys.executable, "-m", "crmwh.cli", *args], env=full, capture_output=True, text=True,
                          timeout=900)


def deliver(home: Path, system: str, night: date, text: str) -> None:
    folder = home / "landing" / system / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(text)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_nights(home: Path) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse" / "crm.duckdb"), read_only=True)
    try:
        return con.execute("select logical_date, status, published from audit.nights order by all").fetchall()
    finally:
        con.close()


def build_nights(home: Path, night: date) -> list[tuple]:
    con = duckdb.connect(str(home / "work" / "crm.duckdb"), read_only=True)
    try:
        return con.execute(
            "select status, published, reason from audit.nights where logical_date = ? order by finished_at",
            [night]).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def first_night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("first_night")
    deliver(home, "shop", FIRST, GOOD_FIRST)
    result = crmwh(home, "nightly", "--date", FIRST.isoformat())
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert published_nights(home) == [(FIRST, "success", True)]
    return home


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def source_down(home: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """A configured HTTP pull source whose server is down (connection refused on every retry)."""
    (home / "crmwh.toml").write_text('[sources.feed]\nkind = "http"\nbase_url_env = "TEST_FEED_API"\n'
                                     'entities = ["orders"]\n')
    return {"TEST_FEED_API": f"http://127.0.0.1:{closed_port()}"}, lambda: (home / "crmwh.toml").unlink()


def negative_history(home: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """A customer whose only order is a large refund: loads, stages, builds and passes dbt's tests,
    but the marts' blocking suite fails: one customer in four with a negative realised margin (more
    than a tenth) means costs or refunds are wrong."""
    deliver(home, "shop", NIGHT, GOOD_NIGHT + "C9,O9,2026-11-15,-500.00,0.00\n")
    # Raw keeps every delivered version and a record missing from a later delivery is not a delete,
    # so the source fixes it the way sources do: the next night delivers the corrected order.
    # (Re-delivering it for the same night is not enough today: see the lead's report.)
    return {}, lambda: deliver(home, "shop", NEXT, HEADER + "C9,O9,2026-11-15,50.00,0.00\n")


# A failing dbt model is not here: staging quarantines whatever a landed file holds, so no
# landed data makes a dbt model or test fail, and the runner pins dbt's target; injecting one
# would need a code hook (see the report to the lead).
FAULTS = [(source_down, "land:feed"), (negative_history, "gates:marts")]


@pytest.mark.slow
def test_each_fault_keeps_the_published_warehouse_and_the_next_run_recovers(first_night: Path):
    """One home, one night re-run after each fault is removed: each re-run fails only at its own
    fault's step (no clean-up in between); the next night, with the bad order corrected, publishes.
    Chained rather than one copy per fault because a night takes 1-3 minutes on a shared 2-core machine."""
    home = first_night
    published = home / "warehouse" / "crm.duckdb"
    before = sha256(published)
    log_path = home / "work" / "logs" / f"crm_nightly_{NIGHT.isoformat()}.log"
    deliver(home, "shop", NIGHT, GOOD_NIGHT)
    for number, (inject, failing_step) in enumerate(FAULTS, start=1):
        env, remove_fault = inject(home)
        log_start = log_path.stat().st_size if log_path.exists() else 0

        result = crmwh(home, "nightly", "--date", NIGHT.isoformat(), env=env)

        assert result.returncode != 0, failing_step
        assert sha256(published) == before, failing_step
        assert published_nights(home) == [(FIRST, "success", True)]  # opens read-only, still the first night
        runs = build_nights(home, NIGHT)
        assert len(runs) == number
        status, was_published, reason = runs[-1]
        assert (status, was_published) == ("failed", False)
        assert reason.startswith(f"{failing_step}: "), reason
        assert failing_step in result.stderr  # the CLI's one-line verdict names the step
        log = log_path.read_text(errors="replace")[log_start:]
        detail = reason.split(": ", 1)[1]
        assert detail[:50] in log, (detail, log[-3000:])
        # Only this fault's step failed: the fault removed before this run is gone without clean-up.
        assert failed_steps_of_last_run(home, NIGHT) == [failing_step]
        remove_fault()

    again = crmwh(home, "nightly", "--date", NEXT.isoformat())

    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert sha256(published) != before
    # The published copy carries the audit, the failed runs of NIGHT included.
    assert published_nights(home) == [(FIRST, "success", True), *[(NIGHT, "failed", False)] * len(FAULTS),
                                      (NEXT, "success", True)]
    assert build_nights(home, NEXT) == [("success", True, None)]
    assert failed_steps_of_last_run(home, NEXT) == []


def failed_steps_of_last_run(home: Path, night: date) -> list[str]:
    con = duckdb.connect(str(home / "work" / "crm.duckdb"), read_only=True)
    try:
        return [step for (step,) in con.execute(
            """select step from audit.night_steps
               where status = 'failed' and run_id = (select arg_max(run_id, finished_at) from audit.nights
                                                     where logical_date = ?)
               order by step""", [night]).fetchall()]
    finally:
        con.close()


# --- nights out of order, and sources that have not arrived (steps called directly: no Airflow) ---

@pytest.fixture()
def bare_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRMWH_HOME", str(tmp_path))
    for name in ("CRMWH_CONFIG", "CRMWH_LANDING_DIR", "CRMWH_WAREHOUSE", "CRMWH_WORK_DIR",
                 "CRMWH_SOURCE_WAIT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def mark_published(night: date) -> None:
    settings = load_settings()
    with steps.warehouse(settings) as con:
        from crmwh.pipeline import audit

        audit.start_night(con, night, f"run-{night}")
        audit.finish_night(con, night, f"run-{night}", status="success", published=True, reason=None)


def test_older_unpublished_night_is_refused_but_reruns_and_newer_nights_pass(bare_home: Path):
    for night in (FIRST, NIGHT):
        deliver(bare_home, "shop", night, GOOD_FIRST)
    mark_published(FIRST)
    mark_published(NIGHT)
    older = FIRST - timedelta(days=3)
    deliver(bare_home, "shop", older, GOOD_FIRST)

    with pytest.raises(CrmwhError, match=rf"night {older} is older than the last published night {NIGHT}"):
        steps.begin_night(night=older, run_id="old", settings=load_settings())
    with steps.warehouse(load_settings()) as con:
        assert con.execute("select status, detail like 'night % is older%' from audit.night_steps "
                           "where run_id = 'old'").fetchall() == [("failed", True)]
    # A re-run of a published night (the newest or an older one) and a newer night still begin.
    for night in (NIGHT, FIRST):
        assert steps.begin_night(night=night, run_id=f"again-{night}", settings=load_settings())["systems"] == ["shop"]
    deliver(bare_home, "shop", NIGHT + timedelta(days=1), GOOD_FIRST)
    assert steps.begin_night(night=NIGHT + timedelta(days=1), run_id="next", settings=load_settings())


def test_cli_refuses_an_out_of_order_night_in_one_line_without_running_airflow(bare_home: Path):
    mark_published(NIGHT)
    older = NIGHT - timedelta(days=5)
    deliver(bare_home, "shop", older, GOOD_FIRST)
    started = time.monotonic()
    result = crmwh(bare_home, "backfill", "--start", older.isoformat(), "--end", NIGHT.isoformat())
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "older than the last published night" in line]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert time.monotonic() - started < 30
    assert not (bare_home / "work" / "airflow").exists()


def test_missing_sources_fail_at_once_by_default(bare_home: Path):
    started = time.monotonic()
    with pytest.raises(CrmwhError, match=f"no source system delivered night {NIGHT}"):
        steps.begin_night(night=NIGHT, run_id="r", settings=load_settings())
    assert time.monotonic() - started < 5


def test_missing_sources_wait_for_the_timeout_then_fail_clearly(bare_home: Path, monkeypatch: pytest.MonkeyPatch):
    (bare_home / "landing").mkdir()
    monkeypatch.setenv("CRMWH_SOURCE_WAIT_SECONDS", "2")
    started = time.monotonic()
    with pytest.raises(CrmwhError, match=f"waited 2 s: no source system delivered night {NIGHT}"):
        steps.begin_night(night=NIGHT, run_id="r", settings=load_settings())
    assert 2 <= time.monotonic() - started < 8
    with steps.warehouse(load_settings()) as con:
        [(status, detail)] = con.execute("select status, detail from audit.night_steps where step = 'begin'").fetchall()
    assert status == "failed" and detail.startswith("waited 2 s")


def test_a_source_arriving_during_the_wait_starts_the_night(bare_home: Path, monkeypatch: pytest.MonkeyPatch):
    (bare_home / "landing").mkdir()
    monkeypatch.setenv("CRMWH_SOURCE_WAIT_SECONDS", "30")
    arrival = threading.Timer(2.0, deliver, args=(bare_home, "shop", NIGHT, GOOD_FIRST))
    arrival.start()
    started = time.monotonic()
    try:
        assert steps.begin_night(night=NIGHT, run_id="r", settings=load_settings())["systems"] == ["shop"]
    finally:
        arrival.join()
    assert 2 <= time.monotonic() - started < 10


def test_bad_wait_setting_is_a_clear_error(bare_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CRMWH_SOURCE_WAIT_SECONDS", "soon")
    with pytest.raises(CrmwhError, match="CRMWH_SOURCE_WAIT_SECONDS must be a number"):
        steps.begin_night(night=NIGHT, run_id="r", settings=load_settings())


# --- DAG params ---

def test_dagbag_declares_as_of_date_and_scale_params(bare_home: Path):
    from crmwh.pipeline.airflow_runner import prepare_airflow
    from crmwh.resources import dags_dir

    prepare_airflow(load_settings())
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions.param import Param, ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    bag = DagBag(dag_folder=str(dags_dir()))
    assert bag.import_errors == {}
    params = bag.get_dag("crm_nightly").params
    assert {"as_of_date", "scale"} <= set(params.keys())
    assert params["as_of_date"] is None and params["scale"] is None  # defaults: the logical date; no scale
    schemas = {key: params.get_param(key).schema for key in ("as_of_date", "scale")}

    def resolved(**values: str) -> dict:
        return ParamsDict({key: Param(values.get(key), **schema) for key, schema in schemas.items()}).validate()

    assert resolved(as_of_date="2026-11-21", scale="xs") == {"as_of_date": "2026-11-21", "scale": "xs"}
    for bad in ({"as_of_date": "21/11/2026"}, {"scale": "huge"}):
        with pytest.raises(ParamValidationError):
            resolved(**bad)


def test_a_retried_step_that_succeeds_no_longer_blocks_publishing(tmp_path: Path):
    """Airflow retries a task under the same run id: only the step's last attempt decides."""
    from datetime import datetime

    from crmwh.pipeline import audit
    from ingestion.warehouse import connect

    con = connect(tmp_path / "build.duckdb")
    try:
        attempt = datetime(2026, 11, 1, 2, 0)
        audit.record_step(con, NIGHT, "run-1", "dbt:staging", "success", attempt)
        audit.record_step(con, NIGHT, "run-1", "dbt:warehouse", "failed", attempt + timedelta(minutes=1), "killed")
        assert audit.failed_steps(con, NIGHT, "run-1") == [("dbt:warehouse", "killed")]
        audit.record_step(con, NIGHT, "run-1", "dbt:warehouse", "success", attempt + timedelta(minutes=5))
        assert audit.failed_steps(con, NIGHT, "run-1") == []
        audit.record_step(con, NIGHT, "run-1", "gates:marts", "failed", attempt + timedelta(minutes=9), "gate")
        assert audit.failed_steps(con, NIGHT, "run-1") == [("gates:marts", "gate")]
        assert audit.failed_steps(con, NIGHT, "run-2") == []
    finally:
        con.close()


def test_a_retry_of_publish_publishes(bare_home: Path):
    """publish's own failed first attempt must not stop its retry (same run id)."""
    from datetime import datetime

    from crmwh.pipeline import audit
    from ingestion.warehouse import connect

    settings = load_settings()
    settings.ensure_dirs()
    con = connect(settings.build_db_path)
    try:
        audit.start_night(con, NIGHT, "run-1")
        audit.record_step(con, NIGHT, "run-1", "publish", "failed", datetime(2026, 11, 21, 2, 0), "disk full")
    finally:
        con.close()
    steps.publish_warehouse(night=NIGHT, run_id="run-1", settings=settings)
    assert settings.warehouse_path.is_file()
