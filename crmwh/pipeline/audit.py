"""Per-night audit: ``audit.nights`` (one row per run of a night) and ``audit.night_steps``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

NIGHTS_DDL = """
create table if not exists audit.nights (
    logical_date date not null,
    run_id varchar not null,
    status varchar not null,         -- running, success, failed
    published boolean not null,
    reason varchar,
    rows_in bigint,
    rows_loaded bigint,
    rows_quarantined bigint,
    started_at timestamp not null,
    finished_at timestamp
)
"""

NIGHT_STEPS_DDL = """
create table if not exists audit.night_steps (
    logical_date date not null,
    run_id varchar not null,
    step varchar not null,
    status varchar not null,         -- success, failed, skipped
    detail varchar,
    started_at timestamp not null,
    finished_at timestamp not null,
    duration_seconds double not null
)
"""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(NIGHTS_DDL)
    con.execute(NIGHT_STEPS_DDL)


def record_step(
    con: duckdb.DuckDBPyConnection,
    night: date,
    run_id: str,
    step: str,
    status: str,
    started_at: datetime,
    detail: str | None = None,
) -> None:
    ensure_audit_tables(con)
    finished_at = utcnow()
    con.execute(
        "insert into audit.night_steps values (?, ?, ?, ?, ?, ?, ?, ?)",
        [night, run_id, step, status, detail, started_at, finished_at, (finished_at - started_at).total_seconds()],
    )


def close_abandoned_runs(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Give a verdict to runs that died without one (SIGKILL, OOM, power loss), found when a new run starts.

    Nights run one at a time, so a row still ``running`` belongs to a run that never reached
    ``finish``; without this it says "running" forever (and is copied into every later published
    file). A run killed inside ``publish`` after it wrote its verdict but before the publish step
    was recorded claims ``published``: it is marked failed too (the last good file was kept,
    or, if the kill came after the atomic replace, a later run republished the night).
    A run still alive that this misjudges rewrites its own row in ``finish_night``.
    """
    reason = f"the run ended without a verdict (killed or crashed); found when run {run_id} started"
    con.execute(
        "update audit.nights set status = 'failed', reason = ?, finished_at = ? "
        "where status = 'running' and run_id <> ?",
        [reason, utcnow(), run_id],
    )
    con.execute(
        """update audit.nights set status = 'failed', published = false, reason = ?
           where published and run_id <> ? and not exists (
               select 1 from audit.night_steps s
               where s.run_id = audit.nights.run_id and s.logical_date = audit.nights.logical_date
                 and s.step = 'publish' and s.status = 'success')
             and exists (
               select 1 from audit.night_steps s
               where s.run_id = audit.nights.run_id and s.logical_date = audit.nights.logical_date)""",
        [f"the run ended inside publish without recording it (killed or crashed); found when run {run_id} started",
         run_id],
    )


def start_night(con: duckdb.DuckDBPyConnection, night: date, run_id: str) -> None:
    ensure_audit_tables(con)
    close_abandoned_runs(con, run_id)
    con.execute("delete from audit.nights where logical_date = ? and run_id = ? and status = 'running'", [night, run_id])
    con.execute(
        "insert into audit.nights values (?, ?, 'running', false, null, null, null, null, ?, null)",
        [night, run_id, utcnow()],
    )


def finish_night(
    con: duckdb.DuckDBPyConnection,
    night: date,
    run_id: str,
    *,
    status: str,
    published: bool,
    reason: str | None,
) -> None:
    """Close the night's row with counts summed from the load ledger."""
    ensure_audit_tables(con)
    rows_in, rows_loaded, rows_quarantined = con.execute(
        """select coalesce(sum(rows_in), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)
           from audit.load_ledger where night = ?""",
        [night],
    ).fetchone()
    started_at = con.execute(
        "select min(started_at) from audit.nights where logical_date = ? and run_id = ?", [night, run_id]
    ).fetchone()[0] or utcnow()
    con.execute("delete from audit.nights where logical_date = ? and run_id = ?", [night, run_id])
    con.execute(
        "insert into audit.nights values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [night, run_id, status, published, reason, rows_in, rows_loaded, rows_quarantined, started_at, utcnow()],
    )


def failed_steps(con: duckdb.DuckDBPyConnection, night: date, run_id: str) -> list[tuple[str, str | None]]:
    """Steps of the run whose last attempt failed, with the reason, in the order they ran.

    A task retry (Airflow's, same run id) that succeeds clears the step's earlier failure.
    """
    ensure_audit_tables(con)
    return con.execute(
        """select step, detail from (
               select step, status, detail, started_at,
                      row_number() over (partition by step order by started_at desc, finished_at desc) as attempt
               from audit.night_steps where logical_date = ? and run_id = ?
           ) where attempt = 1 and status = 'failed' order by started_at""",
        [night, run_id],
    ).fetchall()


def step_succeeded(con: duckdb.DuckDBPyConnection, night: date, run_id: str, step: str) -> bool:
    ensure_audit_tables(con)
    return con.execute(
        "select count(*) from audit.night_steps where logical_date = ? and run_id = ? and step = ? and status = 'success'",
        [night, run_id, step],
    ).fetchone()[0] > 0
