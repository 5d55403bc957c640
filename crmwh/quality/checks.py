"""crmwh's own checks beside GX: volume change against the previous night, from the load ledger.

GX validates one batch at a time; comparing two nights' volumes needs the ledger, so this
is plain SQL whose verdict is recorded like an expectation result.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from crmwh.quality.results import GateResult

VOLUME_CHECK = "crmwh_volume_change_vs_previous_night"


def night_rows(con: duckdb.DuckDBPyConnection, raw_table: str, night: date) -> int:
    return int(con.execute(
        "select coalesce(sum(rows_loaded), 0) from audit.load_ledger where raw_table = ? and night = ?",
        [raw_table, night],
    ).fetchone()[0])


def previous_night(con: duckdb.DuckDBPyConnection, raw_table: str, night: date) -> tuple[date, int] | None:
    row = con.execute(
        """select night, sum(rows_loaded) from audit.load_ledger
           where raw_table = ? and night < ? group by night order by night desc limit 1""",
        [raw_table, night],
    ).fetchone()
    return (row[0], int(row[1])) if row else None


def is_initial_load(con: duckdb.DuckDBPyConnection, raw_table: str, night: date) -> bool:
    """True when no earlier night loaded into ``raw_table``: tonight's delivery is the first, full export."""
    return con.execute(
        "select count(*) from audit.load_ledger where raw_table = ? and night < ?", [raw_table, night]
    ).fetchone()[0] == 0


def volume_check(
    con: duckdb.DuckDBPyConnection, suite: str, severity: str, raw_table: str, settings: dict[str, Any], night: date
) -> GateResult:
    """Fail when tonight's loaded rows fell by more than ``max_drop`` or rose by more than
    ``max_rise`` (fractions of the previous night's), unless the previous night had fewer than
    ``min_previous_rows`` (small numbers swing too much to mean anything) or was the initial
    load (a full export with history is no yardstick for nightly changes)."""
    max_drop = float(settings.get("max_drop", 0.9))
    max_rise = float(settings.get("max_rise", 5.0))
    min_previous = int(settings.get("min_previous_rows", 100))
    current = night_rows(con, raw_table, night)
    previous = previous_night(con, raw_table, night)
    if previous is None:
        return GateResult(suite, VOLUME_CHECK, severity, True, None,
                          f"{raw_table}: {current} rows tonight, no earlier night to compare")
    previous_date, previous_count = previous
    if is_initial_load(con, raw_table, previous_date):
        return GateResult(suite, VOLUME_CHECK, severity, True, None,
                          f"{raw_table}: {current} rows vs {previous_count} on {previous_date} "
                          "(the initial load, not compared)")
    if previous_count < min_previous:
        return GateResult(suite, VOLUME_CHECK, severity, True, None,
                          f"{raw_table}: {current} rows vs {previous_count} on {previous_date} "
                          f"(below {min_previous}, not compared)")
    change = (current - previous_count) / previous_count
    ok = -max_drop <= change <= max_rise
    return GateResult(suite, VOLUME_CHECK, severity, ok, None if ok else abs(current - previous_count),
                      f"{raw_table}: {current} rows vs {previous_count} on {previous_date} ({change:+.0%}; "
                      f"allowed -{max_drop:.0%} to +{max_rise:.0%})")
