"""Quality gates: run the stage's expectation suites on the build warehouse, record, decide.

``run_gates(stage=..., night=..., run_id=...)`` is called twice a night: ``staging``
after dbt built the staging tables, ``marts`` before publishing. It

1. opens the build database read-only (nothing else writes at that moment) and, per
   suite of ``expectations/<stage>/``, reads the rows the suite is about into a pandas
   DataFrame, only the columns its expectations name (the night's rows by ``_night`` for
   staging; ``as_of_date`` = the night for marts; for uniqueness, the key columns of
   every row sharing a key with the night's rows), and validates it with GX;
2. adds crmwh's own checks (volume change against the previous night, from
   ``audit.load_ledger``);
3. builds GX data docs into ``<work_dir>/gx_docs/<night>/<stage>/index.html``;
4. reopens the database read-write only to write one row per result to
   ``audit.gate_results``, and closes it;
5. raises ``CrmwhError("gate <suite> failed: ...")`` if any ``blocking`` suite failed;
   ``warning`` suites are only recorded.

A suite whose table does not exist yet (e.g. a mart another part of the pipeline has not
built) or that has no rows for the night is skipped with a recorded note, not failed.

Why DataFrames, not GX's SQL data source: GX 1.24.1 on ``duckdb:///…`` (duckdb-engine
0.17) fails every expectation with ``MetricResolutionError: list index out of range``.
Root cause, reproduced here: ``SqlAlchemyExecutionEngine.execute_query`` runs the metric
query inside ``with self.get_connection() as connection:`` and returns the un-fetched
``CursorResult``; ``resolve_metric_bundle`` calls ``.fetchall()`` only after the
connection went back to the pool. psycopg and most drivers buffer rows at execute time,
but the DuckDB DBAPI cursor does not: once SQLAlchemy releases the connection the pending
result is gone and ``fetchall()`` returns ``[]`` (plain SQLAlchemy shows the same: a
``select count(*)`` fetched after leaving ``engine.connect()`` gives ``[]``; inside, one
row; ``pool_reset_on_return=None`` does not help), so ``res[0]`` raises ``IndexError``.
Known upstream as great_expectations issue #11579 ("resolve_metric_bundle raises
IndexError with duckdb-engine (empty results)"); the proposed fix (PR #11635) only turns
it into a clearer error. Working around it would mean patching GX internals, so we read
the rows with DuckDB ourselves and hand GX a DataFrame (``add_pandas`` →
``add_dataframe_asset`` → ``batch_parameters={"dataframe": df}``), which also keeps the
read cheap: one night's rows, not whole history tables.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from crmwh.config import Settings, load_settings
from crmwh.errors import CrmwhError, first_line
from crmwh.quality.checks import is_initial_load, volume_check
from crmwh.quality.frames import query_frame
from crmwh.quality.gx_runner import GxSession
from crmwh.quality.results import GateResult, write_results
from crmwh.quality.suites import SuiteFile, load_suites
from ingestion.warehouse import connect, qualified, quote_ident

SKIPPED = "crmwh_suite_skipped"
SETUP = "crmwh_suite_setup"
ROW_FILTERS = {"night": "_night", "as_of_date": "as_of_date"}
EARLIEST = datetime(1900, 1, 1)


def docs_dir(settings: Settings, night: date, stage: str) -> Path:
    return settings.work_dir / "gx_docs" / night.isoformat() / stage


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    """Column names of ``schema.table`` (table or view), or None when it does not exist."""
    schema, name = table.split(".", 1)
    rows = con.execute(
        """select column_name from information_schema.columns
           where table_schema = ? and table_name = ? order by ordinal_position""",
        [schema, name],
    ).fetchall()
    return [row[0] for row in rows] or None


def freshness_parameters(night: date, days: int | None, initial_load: bool = False) -> dict[str, Any]:
    """``$PARAMETER`` values for freshness: newest change within ``days`` before the night, not after the next day.

    A table's initial load is a full export with history (reference data such as territories
    may not have changed for years), so only the upper bound (no future timestamps) applies.
    """
    start = datetime.combine(night, time())
    return {
        "freshness_min": pd.Timestamp(EARLIEST if initial_load else start - timedelta(days=days or 0)),
        "freshness_max": pd.Timestamp(start + timedelta(days=2)),
    }


def _named_columns(expectations: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for expectation in expectations:
        kwargs = expectation.get("kwargs") or {}
        for column in kwargs.get("column_list") or ([kwargs["column"]] if "column" in kwargs else []):
            if column not in names:
                names.append(column)
    return names


def _selection(expectations: list[dict[str, Any]], columns: list[str]) -> str:
    """The select list for the night's rows: only the columns the expectations name.

    An initial night selects whole tables (millions of rows at scale l): reading every
    column into pandas would cost memory for columns no expectation looks at. A column
    the table lacks is left out, so GX reports it missing against its expectation, as
    before; an expectation that names no column (e.g. on the table's shape) gets them all.
    """
    named = _named_columns(expectations)
    if not named or any(not _named_columns([expectation]) for expectation in expectations):
        return "*"
    return ", ".join(quote_ident(name) for name in named if name in columns) or "*"


def run_suite(con: duckdb.DuckDBPyConnection, session: GxSession, suite: SuiteFile, night: date) -> list[GateResult]:
    """Every result of one suite: GX expectations, crmwh checks, or one note why it was skipped.

    Nothing selected for the night (no delivery, or no mart rows as of the night) skips the
    expectations, the whole-table ones included: the table did not change tonight.
    """
    columns = table_columns(con, suite.table)
    if columns is None:
        return [GateResult(suite.name, SKIPPED, suite.severity, True, None, f"{suite.table} does not exist yet")]
    filter_column = ROW_FILTERS.get(suite.rows)
    if filter_column and filter_column not in columns:
        return [GateResult(suite.name, SETUP, suite.severity, False, None,
                           f"{suite.table} has no column {filter_column} to select the night's rows")]
    results: list[GateResult] = []
    row_level, table_level = suite.split()
    where, arguments = (f" where {quote_ident(filter_column)} = ?", [night]) if filter_column else ("", [])
    frame = query_frame(con, f"select {_selection(row_level, columns)} from {qualified(suite.table)}{where}",
                        arguments)
    if frame.empty:
        results.append(GateResult(suite.name, SKIPPED, suite.severity, True, None,
                                  f"{suite.table}: no rows for {night} ({suite.rows})"))
    else:
        initial = bool(suite.raw_table) and is_initial_load(con, suite.raw_table, night)
        parameters = freshness_parameters(night, suite.freshness_days, initial)
        results += session.validate(suite.name, suite.severity, suite.spec, row_level, frame, parameters)
        needed = _named_columns(table_level)
        missing = [name for name in needed if name not in columns]
        if missing:
            results.append(GateResult(suite.name, SETUP, suite.severity, False, None,
                                      f"{suite.table} lacks column(s) {', '.join(missing)}"))
        elif table_level:
            results += session.validate(f"{suite.name}.whole_table", suite.severity, suite.spec, table_level,
                                        _rows_sharing_values(con, suite.table, needed, filter_column, night, frame),
                                        parameters)
    if suite.volume and suite.raw_table:
        results.append(volume_check(con, suite.name, suite.severity, suite.raw_table, suite.volume, night))
    return results


def _rows_sharing_values(con: duckdb.DuckDBPyConnection, table: str, columns: list[str],
                         filter_column: str | None, night: date, night_rows: pd.DataFrame) -> pd.DataFrame:
    """For the whole-table expectations (uniqueness of keys): the table's rows whose values in
    ``columns`` also occur in the night's rows, every such row of every night.

    A duplicate is caught on the night its later row arrives, since both rows then share the
    night's values; rows no night's value points to cannot have changed (dbt's unique tests
    check the whole tables every night as well). At scale l this reads thousands of keys a
    night instead of every key of 9 million rows. When the night's rows are every row of the
    table (an initial load), they are the answer: ``night_rows`` is reused instead of read again.
    """
    total = con.execute(f"select count(*) from {qualified(table)}").fetchall()[0][0]
    if total == len(night_rows) and set(columns) <= set(night_rows.columns):
        return night_rows[columns]
    select = ", ".join(f"whole.{quote_ident(name)}" for name in columns)
    if filter_column is None:
        return query_frame(con, f"select {select} from {qualified(table)} as whole")
    matches = " and ".join(f"tonight.{quote_ident(name)} = whole.{quote_ident(name)}" for name in columns)
    return query_frame(
        con,
        f"""select {select} from {qualified(table)} as whole
            where exists (select 1 from {qualified(table)} as tonight
                          where tonight.{quote_ident(filter_column)} = ? and {matches})""",
        [night],
    )


def summarise(stage: str, results: list[GateResult], suites: int, docs_index: Path) -> str:
    blocking = sum(1 for r in results if r.severity == "blocking" and not r.success)
    warnings = sum(1 for r in results if r.severity == "warning" and not r.success)
    skipped = sum(1 for r in results if r.expectation == SKIPPED)
    checked = len(results) - skipped
    return (f"{stage} gates: {suites} suites, {checked} checks, {blocking} blocking failures, "
            f"{warnings} warnings, {skipped} skipped; docs {docs_index}")


def run_gates(*, stage: str, night: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Run the stage's suites for the night; raise CrmwhError when a blocking suite failed.

    Returns ``{"stage", "suites", "checks", "blocking_failures", "warnings", "docs", "detail"}``.
    """
    settings = settings or load_settings()
    suites = load_suites(stage)
    database = settings.build_db_path
    if not database.is_file():
        raise CrmwhError(f"gates {stage}: build warehouse {database} does not exist; run the night's load first")
    session = GxSession(docs_dir(settings, night, stage))
    results: list[GateResult] = []
    con = connect(database, read_only=True)
    try:
        for suite in suites:
            try:
                results += run_suite(con, session, suite, night)
            except Exception as exc:  # a broken suite file fails its own gate, with the reason recorded
                results.append(GateResult(suite.name, SETUP, suite.severity, False, None,
                                          f"{type(exc).__name__}: {first_line(exc)}"[:500]))
    finally:
        con.close()
    docs_index = session.build_docs()
    con = connect(database)
    try:
        write_results(con, night, run_id, stage, results)
    finally:
        con.close()
    failures = [r for r in results if r.severity == "blocking" and not r.success]
    detail = summarise(stage, results, len(suites), docs_index)
    if failures:
        first = failures[0]
        more = f" (and {len(failures) - 1} more blocking failures)" if len(failures) > 1 else ""
        raise CrmwhError(f"gate {first.suite} failed: {first.describe()}{more}; see audit.gate_results "
                         f"and {docs_index}")
    return {
        "stage": stage,
        "suites": len(suites),
        "checks": sum(1 for r in results if r.expectation != SKIPPED),
        "blocking_failures": 0,
        "warnings": sum(1 for r in results if r.severity == "warning" and not r.success),
        "docs": str(docs_index),
        "detail": detail,
    }
