"""Text summaries of nights for the command line, read from the audit tables of the build warehouse."""

from __future__ import annotations

from datetime import date

from crmwh.config import Settings
from crmwh.progress import progress
from ingestion.warehouse import connect


def _connect_audit(settings: Settings):
    if not settings.build_db_path.exists():
        return None
    return connect(settings.build_db_path, read_only=True)


def night_failure_reason(settings: Settings, night: date) -> str:
    con = _connect_audit(settings)
    if con is None:
        return "no audit found"
    try:
        row = con.execute(
            "select reason from audit.nights where logical_date = ? order by started_at desc limit 1", [night]
        ).fetchone()
    finally:
        con.close()
    return (row[0] if row and row[0] else "see the task log")


def print_night_steps(settings: Settings, night: date) -> None:
    """One progress line per step of the night's latest run."""
    con = _connect_audit(settings)
    if con is None:
        return
    try:
        rows = con.execute(
            """select step, status, duration_seconds, coalesce(detail, '') from audit.night_steps
               where logical_date = ? and run_id = (
                   select run_id from audit.night_steps where logical_date = ? order by started_at desc limit 1)
               order by started_at""",
            [night, night],
        ).fetchall()
    finally:
        con.close()
    for step, status, seconds, detail in rows:
        progress(f"  {step:<24} {status:<8} {seconds:6.1f}s  {detail[:100]}")


def print_night_summary(settings: Settings, nights: list[date]) -> None:
    con = _connect_audit(settings)
    if con is None:
        print("no nights have run yet")
        return
    try:
        first, last = min(nights), max(nights)
        print(f"\nNights {first} .. {last}")
        print(f"{'source system':<14} {'files':>6} {'rows in':>10} {'loaded':>10} {'quarantined':>12}")
        for system, files, rows_in, loaded, quarantined in con.execute(
            """select source_system, count(*), sum(rows_in), sum(rows_loaded), sum(rows_quarantined)
               from audit.load_ledger where night between ? and ? group by 1 order by 1""",
            [first, last],
        ).fetchall():
            print(f"{system:<14} {files:>6} {rows_in:>10} {loaded:>10} {quarantined:>12}")
        for night, step, detail in con.execute(
            """select logical_date, step, detail from audit.night_steps
               where (step like 'dbt:%' or step like 'gates:%') and status = 'success'
                 and logical_date between ? and ?
               qualify row_number() over (partition by logical_date, step order by finished_at desc) = 1
               order by 1, min(started_at) over (partition by logical_date, step)""",
            [first, last],
        ).fetchall():
            print(f"{night} {step:<16} {detail}")
    finally:
        con.close()
    print(f"\nPublished warehouse: {settings.warehouse_path}")
    print(f"Open it read-only:    duckdb -readonly {settings.warehouse_path}")
    print(f"Landing files:        {settings.landing_dir}")


def print_status(settings: Settings, last: int) -> None:
    con = _connect_audit(settings)
    if con is None:
        print(f"no nights have run yet (no build warehouse at {settings.build_db_path})")
        return
    try:
        rows = con.execute(
            """select logical_date, status, published, rows_in, rows_loaded, rows_quarantined,
                      round(epoch(finished_at - started_at), 1), coalesce(reason, '')
               from audit.nights order by started_at desc limit ?""",
            [last],
        ).fetchall()
    finally:
        con.close()
    print(f"{'night':<11} {'status':<8} {'published':<9} {'rows in':>9} {'loaded':>9} {'quarant.':>9} "
          f"{'seconds':>8}  reason")
    for night, status, published, rows_in, loaded, quarantined, seconds, reason in rows:
        print(f"{night!s:<11} {status:<8} {'yes' if published else 'no':<9} {rows_in or 0:>9} {loaded or 0:>9} "
              f"{quarantined or 0:>9} {seconds or 0:>8}  {reason}")
    print(f"\npublished warehouse: {settings.warehouse_path}")
