"""Gate results: one row per expectation (or crmwh check) in ``audit.gate_results``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from crmwh.pipeline.audit import utcnow

GATE_RESULTS_DDL = """
create table if not exists audit.gate_results (
    night date not null,
    run_id varchar not null,
    stage varchar not null,            -- staging, marts
    suite varchar not null,
    expectation varchar not null,      -- GX expectation type(column), or a crmwh check
    severity varchar not null,         -- blocking, warning
    success boolean not null,
    unexpected_count bigint,
    detail varchar,
    checked_at timestamp not null
)
"""


@dataclass(frozen=True)
class GateResult:
    suite: str
    expectation: str
    severity: str
    success: bool
    unexpected_count: int | None = None
    detail: str | None = None

    def describe(self) -> str:
        count = f", {self.unexpected_count} unexpected" if self.unexpected_count else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.expectation}{count}{detail}"


def write_results(
    con: duckdb.DuckDBPyConnection, night: date, run_id: str, stage: str, results: list[GateResult]
) -> None:
    """Replace this run's rows of the stage (a retried task writes its results once)."""
    con.execute("create schema if not exists audit")
    con.execute(GATE_RESULTS_DDL)
    checked_at = utcnow()
    con.execute("begin transaction")
    try:
        con.execute("delete from audit.gate_results where night = ? and run_id = ? and stage = ?", [night, run_id, stage])
        if results:
            con.executemany(
                "insert into audit.gate_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[night, run_id, stage, r.suite, r.expectation, r.severity, r.success, r.unexpected_count,
                  (r.detail or None) and r.detail[:2000], checked_at] for r in results],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
