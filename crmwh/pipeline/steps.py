"""The nightly run's steps. Each opens the build warehouse itself, records its outcome in
``audit.night_steps`` and re-raises failures, so the DAG's tasks stay one-liners and tests
can call the same functions without Airflow.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator, ParamSpec, TypeVar

import duckdb

from crmwh.config import Settings, load_settings
from crmwh.errors import CrmwhError
from crmwh.pipeline import audit
from crmwh.pipeline.dbt_runner import run_dbt
from crmwh.pipeline.publish import publish
from crmwh.pipeline.staging_state import LOADED_SINCE_VARIABLE, loaded_since, record_staging_build, staging_definition
from crmwh.privacy.erase import apply_erasure_list
from crmwh.sources_config import load_source_configs
from ingestion.contracts import known_systems
from ingestion.landing import write_source_note
from ingestion.loader import table_count_mismatches
from ingestion.sources.cursors import CursorStore
from ingestion.sources.http_api import extract_api
from ingestion.sources.postgres import extract_table
from ingestion.night import add_note, load_system_night, require_landed_night, systems_for_night
from ingestion.warehouse import connect, ensure_contract_raw_tables

P = ParamSpec("P")
R = TypeVar("R")
Progress = Callable[[str], None]


@contextmanager
def warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    settings.ensure_dirs()
    con = connect(settings.build_db_path)
    try:
        ensure_contract_raw_tables(con)
        audit.ensure_audit_tables(con)
        yield con
    finally:
        con.close()


def audited(step: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record the step's success or failure (with the one-line reason) in ``audit.night_steps``."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            night: date = kwargs["night"]  # type: ignore[assignment]
            run_id: str = kwargs["run_id"]  # type: ignore[assignment]
            settings: Settings = kwargs.get("settings") or load_settings()  # type: ignore[assignment]
            step_name = step.format(**kwargs)
            started = audit.utcnow()
            try:
                result = function(*args, **kwargs)
            except BaseException as exc:
                with warehouse(settings) as con:
                    audit.record_step(con, night, run_id, step_name, "failed", started, _one_line(exc))
                raise
            with warehouse(settings) as con:
                audit.record_step(con, night, run_id, step_name, "success", started, _detail(result))
            return result

        return wrapper

    return decorate


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:1000]


def _detail(result: Any) -> str | None:
    if isinstance(result, dict) and "detail" in result:
        return str(result["detail"])
    return None


def source_wait_seconds() -> float:
    """How long ``begin`` waits for a night's landing folders (``CRMWH_SOURCE_WAIT_SECONDS``; 0 = fail at once)."""
    text = os.environ.get("CRMWH_SOURCE_WAIT_SECONDS", "0").strip() or "0"
    try:
        seconds = float(text)
    except ValueError:
        raise CrmwhError(f"CRMWH_SOURCE_WAIT_SECONDS must be a number of seconds, not {text!r}") from None
    if seconds < 0:
        raise CrmwhError(f"CRMWH_SOURCE_WAIT_SECONDS must be 0 or more, not {text!r}")
    return seconds


def wait_for_landed_night(landing_dir: Path, night: date, wait_seconds: float,
                          poll_seconds: float = 1.0) -> list[str]:
    """The systems that delivered ``night``, polling up to ``wait_seconds`` for the first folder to appear.

    A sensor in the DAG would hold a worker slot the same way under ``dag.test()``; polling
    here keeps one code path for the CLI, ``airflow dags test`` and the scheduler.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return require_landed_night(landing_dir, night)
        except CrmwhError as exc:
            if time.monotonic() >= deadline:
                if wait_seconds > 0:
                    raise CrmwhError(f"waited {wait_seconds:g} s: {exc}") from None
                raise
        time.sleep(max(0.0, min(poll_seconds, deadline - time.monotonic())))


def last_published_night(con: duckdb.DuckDBPyConnection) -> date | None:
    return con.execute("select max(logical_date) from audit.nights where published").fetchone()[0]


def check_night_order(con: duckdb.DuckDBPyConnection, night: date) -> None:
    """Refuse a night older than the newest published one, unless it is a re-run of a published night.

    The build database accumulates raw loads and incremental models in night order; loading an
    older, never-loaded night after a newer one would rewind history under the newer night's
    data. Re-running a night that was already published is safe (loads are idempotent).
    """
    latest = last_published_night(con)
    if latest is None or night >= latest:
        return
    published_before = con.execute(
        "select count(*) from audit.nights where logical_date = ? and published", [night]
    ).fetchone()[0]
    if published_before:
        return
    raise CrmwhError(
        f"night {night} is older than the last published night {latest} and was never published: "
        f"nights must run in date order; run it in a fresh CRMWH_HOME with `crmwh backfill --start {night} "
        f"--end {latest}`, or drop its files into night {latest + timedelta(days=1)} instead"
    )


def begin_night(*, night: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Open the night's audit row, refuse out-of-order nights, and check that sources arrived.

    Sources missing: wait up to ``CRMWH_SOURCE_WAIT_SECONDS`` for them, then fail clearly.
    """
    settings = settings or load_settings()
    with warehouse(settings) as con:
        audit.start_night(con, night, run_id)
        try:
            check_night_order(con, night)
            wait_seconds = source_wait_seconds()
        except CrmwhError as exc:
            audit.record_step(con, night, run_id, "begin", "failed", audit.utcnow(), str(exc))
            raise
    pulled = sorted(load_source_configs(settings))  # these land their own folders in this run
    started = audit.utcnow()
    try:
        systems = wait_for_landed_night(settings.landing_dir, night, 0 if pulled else wait_seconds)
    except CrmwhError as exc:
        if not pulled:
            with warehouse(settings) as con:
                audit.record_step(con, night, run_id, "begin", "failed", started, str(exc))
            raise
        systems = []
    systems = sorted(set(systems) | set(pulled))
    with warehouse(settings) as con:
        audit.record_step(con, night, run_id, "begin", "success", started, f"systems: {', '.join(systems)}")
    return {"systems": systems}


@audited("land:{system}")
def land_system(*, system: str, night: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Extract → land for systems pulled from a database or API; file-drop systems have nothing to do."""
    settings = settings or load_settings()
    config = load_source_configs(settings).get(system)
    if config is None:
        return {"rows": 0, "detail": "file drop: nothing to extract"}
    cursors = CursorStore(settings.work_dir / "cursors.json")
    rows = 0
    for entity, table in config.entities.items():
        if config.kind == "postgres":
            result = extract_table(config.address(), table, system=system, entity=entity, night=night,
                                   landing_dir=settings.landing_dir, cursors=cursors)
            kind = "sql"
        else:
            result = extract_api(config.address(), system=system, entity=entity, night=night,
                                 landing_dir=settings.landing_dir, cursors=cursors)
            kind = "http"
        for path, location in zip(result.paths, result.locations):
            write_source_note(path, kind, location)
        rows += result.rows
    return {"rows": rows, "detail": f"{config.kind}: {rows} rows landed from {len(config.entities)} entities"}


@audited("load_raw:{system}")
def load_system(*, system: str, night: date, run_id: str, settings: Settings | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
    settings = settings or load_settings()
    with warehouse(settings) as con:
        # People erased earlier (`crmwh erase`) stay erased: scrub their values from tonight's files first.
        apply_erasure_list(con, settings.landing_dir, system, night)
        load = load_system_night(con, settings.landing_dir, system, night, progress)
    files = len(load.results)
    return {
        "system": system,
        "files": files,
        "rows_in": load.rows_in,
        "rows_loaded": load.rows_loaded,
        "rows_quarantined": load.rows_quarantined,
        "detail": load.note or f"{files} files: {load.rows_in} in, {load.rows_loaded} loaded, "
                               f"{load.rows_quarantined} quarantined",
    }


def pipeline_systems(settings: Settings | None = None) -> list[str]:
    """Systems with a task group of their own: every contracted system, and every configured pull source."""
    settings = settings or load_settings()
    return list(dict.fromkeys([*known_systems(), *sorted(load_source_configs(settings))]))


def other_systems(settings: Settings, night: date) -> list[str]:
    """Systems that delivered files for the night but have no task group (bring your own data)."""
    known = set(pipeline_systems(settings))
    return [system for system in systems_for_night(settings.landing_dir, night) if system not in known]


@audited("load_raw:other_systems")
def load_other_systems(*, night: date, run_id: str, settings: Settings | None = None,
                       progress: Progress | None = None) -> dict[str, Any]:
    settings = settings or load_settings()
    loads = [load_system.__wrapped__(system=system, night=night, run_id=run_id, settings=settings,  # type: ignore[attr-defined]
                                     progress=progress)
             for system in other_systems(settings, night)]
    return {
        "systems": [load["system"] for load in loads],
        "rows_in": sum(load["rows_in"] for load in loads),
        "rows_loaded": sum(load["rows_loaded"] for load in loads),
        "rows_quarantined": sum(load["rows_quarantined"] for load in loads),
        "detail": ", ".join(load["system"] for load in loads) or "no other systems delivered",
    }


@audited("reconcile:{system}")
def reconcile_system(*, system: str, night: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Re-check the night's ledger against the tables: every file's rows in = loaded + quarantined."""
    settings = settings or load_settings()
    with warehouse(settings) as con:
        rows = con.execute(
            """select load_id, location, raw_table, rows_in, rows_loaded, rows_quarantined
               from audit.load_ledger where night = ? and source_system = ?""",
            [night, system],
        ).fetchall()
        problems = [f"{location}: in {rows_in} != loaded {rows_loaded} + quarantined {rows_quarantined}"
                    for _, location, _, rows_in, rows_loaded, rows_quarantined in rows
                    if rows_in != rows_loaded + rows_quarantined]
        problems += table_count_mismatches(con, [(load_id, location, raw_table, rows_loaded, rows_quarantined)
                                                 for load_id, location, raw_table, _, rows_loaded, rows_quarantined
                                                 in rows])
    if problems:
        raise CrmwhError(f"{system} night {night}: counts do not reconcile: {'; '.join(problems)}")
    return {"files": len(rows), "detail": f"{len(rows)} files reconcile"}


# The dbt project runs in two layers so that the staging gates sit between them:
# staging (with its quarantine and reconciliation models), then everything built on it.
STAGING_LAYER = ["path:models/staging", "path:models/quarantine", "path:models/audit"]
DBT_LAYERS: dict[str, list[str]] = {
    "staging": ["--select", *STAGING_LAYER],
    "warehouse": ["--exclude", *STAGING_LAYER],
}


# Models, seeds and snapshots without their data tests: the same writes in about half the time.
WITHOUT_DATA_TESTS = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]


@audited("dbt:{layer}")
def build_models(*, layer: str, night: date, run_id: str, settings: Settings | None = None,
                 progress: Progress | None = None, data_tests: bool = True) -> dict[str, Any]:
    """``dbt build`` of one layer (``staging`` or ``warehouse``) as of the night.

    Staging looks at the raw rows loaded since its last build with the same definition,
    or rebuilds in full when there is none (crmwh.pipeline.staging_state).
    """
    settings = settings or load_settings()
    args = ["build", *DBT_LAYERS[layer], *([] if data_tests else WITHOUT_DATA_TESTS)]
    extra_env: dict[str, str] = {}
    if layer == "staging":
        definition = staging_definition()
        started_at = audit.utcnow()
        with warehouse(settings) as con:
            since = loaded_since(con, definition)
        if since is None:
            args.append("--full-refresh")
        else:
            extra_env[LOADED_SINCE_VARIABLE] = since.isoformat()
    result = run_dbt(settings, args, as_of=night, extra_env=extra_env, progress=progress)
    engine_fault = "" if result.ok else result.engine_fault
    if engine_fault:
        # `dbt retry` needs the results of the run it continues; without them, build the layer again.
        again = ["retry"] if result.statuses else args
        if progress:
            progress(f"dbt build ({layer}): DuckDB failed internally ({engine_fault}); running "
                     f"{'the failed and skipped nodes' if result.statuses else 'the layer'} again in a new process")
        result = result.then(run_dbt(settings, again, as_of=night, extra_env=extra_env, progress=progress))
    if not result.ok:
        raise CrmwhError(f"dbt build ({layer}) failed: {'; '.join(result.failures[:3])}")
    detail = result.summary() + (f" (run again after a DuckDB internal error: {engine_fault})" if engine_fault else "")
    if layer == "staging":
        with warehouse(settings) as con:
            record_staging_build(con, definition, night, run_id, full_refresh=since is None,
                                 started_at=started_at, finished_at=audit.utcnow())
        detail += " (full refresh)" if since is None else f" (raw rows loaded since {since})"
    return {
        "models": result.count("model", "success"),
        "tests_passed": result.count("test", "pass"),
        "tests_warned": result.count("test", "warn"),
        "detail": detail,
    }


@audited("gates:{stage}")
def quality_gates(*, stage: str, night: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Great Expectations gates on the staged night (``staging``) or the marts (``marts``)."""
    from crmwh.quality.gates import run_gates  # GX takes seconds to import: only in this task

    return run_gates(stage=stage, night=night, run_id=run_id, settings=settings or load_settings())


@audited("publish")
def publish_warehouse(*, night: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or load_settings()
    with warehouse(settings) as con:
        # Its own earlier attempt does not count: a retry of publish must be able to publish.
        failed = [(step, detail) for step, detail in audit.failed_steps(con, night, run_id) if step != "publish"]
        if failed:
            raise CrmwhError(f"not publishing night {night}: step {failed[0][0]} failed ({failed[0][1]})")
        # The published copy carries its own verdict; finish_night rewrites it if the copy fails.
        audit.finish_night(con, night, run_id, status="success", published=True, reason=None)
    path = publish(settings, tag=night.isoformat())
    return {"path": str(path), "detail": f"published {path}"}


@audited("report")
def write_report(*, night: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """The HTML report (plots) from the warehouse just published; runs only after a publish."""
    from crmwh.report import build_report  # plotly is only needed here

    path = build_report(settings or load_settings())
    return {"path": str(path), "detail": f"report {path}"}


def finish_night(*, night: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Write the night's verdict to ``audit.nights``; raise if it failed so the run is marked failed."""
    settings = settings or load_settings()
    with warehouse(settings) as con:
        failed = audit.failed_steps(con, night, run_id)
        published = audit.step_succeeded(con, night, run_id, "publish")
        if failed:
            reason = f"{failed[0][0]}: {failed[0][1]}"
        elif not published:
            reason = "publish did not run (an upstream task failed or was skipped)"
        else:
            reason = None
        status = "success" if published and not failed else "failed"
        audit.finish_night(con, night, run_id, status=status, published=published, reason=reason)
        if not published:
            add_note(con, night, f"night not published: {reason}")
    if status != "success":
        raise CrmwhError(f"night {night} failed, last good warehouse kept: {reason}")
    return {"status": status, "published": published}
