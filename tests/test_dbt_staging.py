"""The dbt staging layer over hand-made raw rows: typing, drift, de-duplication, quarantine, reconciliation.

A real ``dbt build`` runs against a temp DuckDB file whose raw tables come from
``ensure_contract_raw_tables``; the rows below each exercise one rule.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from crmwh.dbt_sources import generated_files, stale_files, staged_entities, staged_name
from crmwh.errors import CrmwhError
from ingestion.contracts import Column
from crmwh.resources import dbt_project_dir
from ingestion.warehouse import ensure_contract_raw_tables, ensure_raw_table

try:
    from support.raw_to_postgres import copy_raw_to_postgres
except ImportError:
    from tests.support.raw_to_postgres import copy_raw_to_postgres

PROJECT = dbt_project_dir()
DBT = Path(sys.executable).parent / "dbt"


def test_committed_dbt_files_match_the_contracts() -> None:
    """Contracts and dbt never drift apart: `python -m crmwh.dbt_sources` must leave nothing to change."""
    assert stale_files(PROJECT) == [], "run `python -m crmwh.dbt_sources` and commit the result"
    files = generated_files(PROJECT)
    assert PROJECT / "models/staging/erp/_erp__sources.yml" in files
    assert PROJECT / "models/staging/byod/stg_byod__orders.sql" in files
    assert len(staged_entities()) == sum(1 for path in files if path.name.startswith("stg_"))


def test_contract_names_must_follow_conventions() -> None:
    assert staged_name(Column("is_active", "boolean")) == "is_active"
    assert staged_name(Column("attended", "boolean")) == "is_attended"
    with pytest.raises(CrmwhError, match="STAGED_NAMES"):
        staged_name(Column("visited", "boolean"))
    with pytest.raises(CrmwhError, match="STAGED_NAMES"):
        staged_name(Column("birthday", "date"))
    with pytest.raises(CrmwhError, match="cannot cast"):
        staged_name(Column("payload", "json"))


def _raw(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Insert raw rows: metadata defaults plus delivered text fields (None = field absent/null)."""
    for number, row in enumerate(rows, start=1):
        values = {
            "_load_id": f"load-{row.get('_night', '2026-11-01')}-{table}",
            "_source_system": table.split("__")[0].split(".")[1],
            "_source_file": f"{table}.{row.get('_night', '2026-11-01')}.file",
            "_record_number": number,
            "_night": "2026-11-01",
            "_loaded_at": "2026-11-02 01:00:00",
            "_row_hash": f"hash-{table}-{number}",
        }
        values.update(row)
        columns = ", ".join(f'"{name}"' for name in values)
        marks = ", ".join("?" for _ in values)
        con.execute(f"insert into {table} ({columns}) values ({marks})", list(values.values()))


def _seed_raw(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        ensure_contract_raw_tables(con)
        # ERP orders: versions, tie-break, offset timestamp, bad date, missing required fields.
        _raw(con, "raw.erp__orders", [
            {"order_id": "O1", "customer_id": "C1", "status": "open", "currency": "EUR",
             "order_date": "2026-10-31", "updated_at": "2026-11-01T10:00:00Z"},
            {"order_id": "O1", "customer_id": "C1", "status": "shipped", "currency": "EUR",
             "order_date": "2026-10-31", "updated_at": "2026-11-02T09:00:00+02:00",
             "_night": "2026-11-02", "_load_id": "load-2"},
            {"order_id": "O2", "customer_id": "C2", "status": "open", "currency": "EUR",
             "order_date": "31/10/2026", "updated_at": "2026-11-01T10:00:00Z"},
            {"order_id": "O3", "customer_id": "  ", "status": None, "currency": "EUR",
             "order_date": "2026-10-30", "updated_at": "2026-11-01T10:00:00Z"},
            # Same updated_at twice: the later night wins.
            {"order_id": "O4", "customer_id": "C4", "status": "open", "currency": "USD",
             "order_date": "2026-10-29", "updated_at": "2026-11-01 08:00:00"},
            {"order_id": "O4", "customer_id": "C4", "status": "invoiced", "currency": "USD",
             "order_date": "2026-10-29", "updated_at": "2026-11-01 08:00:00",
             "_night": "2026-11-03", "_load_id": "load-3"},
        ])
        # Helpdesk tickets: `priority` renamed `priority_level` on a later night; `needs_field_visit` never delivered.
        ensure_raw_table(con, "raw.helpdesk__tickets", ["priority_level"])
        con.execute('alter table raw.helpdesk__tickets drop column "needs_field_visit"')
        base = {"requester_id": "R1", "category": "how_to", "status": "open",
                "created_at": "2026-11-01T08:00:00Z", "updated_at": "2026-11-01T09:00:00Z"}
        _raw(con, "raw.helpdesk__tickets", [
            {**base, "ticket_id": "T1", "priority": "low"},
            {**base, "ticket_id": "T2", "priority_level": "high"},
            {**base, "ticket_id": "T3"},
        ])
        # CRM event registrations: booleans renamed is_attended; one value that is no boolean.
        _raw(con, "raw.crm__event_registrations", [
            {"registration_id": "E1", "campaign_id": "K1", "registered_at": "2026-11-01T08:00:00Z",
             "attended": "Yes", "updated_at": "2026-11-01T08:00:00Z"},
            {"registration_id": "E2", "campaign_id": "K1", "registered_at": "2026-11-01T08:00:00Z",
             "attended": "maybe", "updated_at": "2026-11-01T08:00:00Z"},
        ])
        # Integers: digits only, on every engine (DuckDB alone would round 4.5).
        _raw(con, "raw.helpdesk__satisfaction_ratings", [
            {"rating_id": "S1", "ticket_id": "T1", "score": "5", "rated_at": "2026-11-01T08:00:00Z",
             "updated_at": "2026-11-01T08:00:00Z"},
            {"rating_id": "S2", "ticket_id": "T2", "score": "4.5", "rated_at": "2026-11-01T08:00:00Z",
             "updated_at": "2026-11-01T08:00:00Z"},
        ])
        # Bring your own data: two systems may both have order "1"; `cost` never delivered.
        con.execute('alter table raw.byod__orders drop column "cost"')
        _raw(con, "raw.byod__orders", [
            {"_source_system": "shop", "customer_id": "A", "order_id": "1", "order_date": "2026-11-20", "amount": "12.50"},
            {"_source_system": "store", "customer_id": "B", "order_id": "1", "order_date": "2026-11-21", "amount": "-3"},
            {"_source_system": "store", "customer_id": "B", "order_id": "2", "order_date": "2026-11-21", "amount": "12,5"},
        ])
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("dbt_staging")
    database = work / "build.duckdb"
    _seed_raw(database)
    env = {
        **os.environ,
        "CRMWH_BUILD_DB": str(database),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "CRMWH_DBT_TARGET": "duckdb",
    }
    result = subprocess.run(
        [str(DBT), "build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return database, result.stdout


def _query(database: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_build_has_no_warnings(built: tuple[Path, str]) -> None:
    _, output = built
    assert "[WARNING]" not in output and "Deprecat" not in output, output[-4000:]
    assert "WARN=0 ERROR=0" in output
    # Target and logs went where the environment said, not into the (possibly installed, read-only) project.
    assert not (PROJECT / "target").exists() and not (PROJECT / "logs").exists()


def test_latest_valid_version_per_key_is_staged(built: tuple[Path, str]) -> None:
    database, _ = built
    rows = _query(database, "select order_id, status, order_date, updated_at, _night from staging.stg_erp__orders order by order_id")
    assert rows == [
        # +02:00 offset converted to UTC.
        ("O1", "shipped", dt.date(2026, 10, 31), dt.datetime(2026, 11, 2, 7, 0), dt.date(2026, 11, 2)),
        ("O4", "invoiced", dt.date(2026, 10, 29), dt.datetime(2026, 11, 1, 8, 0), dt.date(2026, 11, 3)),
    ]
    types = dict(_query(database, """
        select column_name, data_type from information_schema.columns
        where table_schema = 'staging' and table_name = 'stg_erp__orders'"""))
    assert types["order_date"] == "DATE" and types["updated_at"] == "TIMESTAMP" and types["order_id"] == "VARCHAR"


def test_renamed_and_missing_columns(built: tuple[Path, str]) -> None:
    database, _ = built
    rows = _query(database, "select ticket_id, priority, is_field_visit_needed from staging.stg_helpdesk__tickets order by 1")
    assert rows == [("T1", "low", None), ("T2", "high", None)]
    types = dict(_query(database, """
        select column_name, data_type from information_schema.columns
        where table_schema = 'staging' and table_name = 'stg_helpdesk__tickets'"""))
    assert types["is_field_visit_needed"] == "BOOLEAN"
    assert "needs_field_visit" not in types and "priority_level" not in types
    byod = _query(database, "select _source_system, order_id, amount, cost from staging.stg_byod__orders order by 1, 2")
    assert byod == [("shop", "1", Decimal("12.50"), None), ("store", "1", Decimal("-3.00"), None)]
    assert _query(database, "select registration_id, is_attended from staging.stg_crm__event_registrations") == [("E1", True)]


def test_rejected_rows_are_quarantined_with_reason(built: tuple[Path, str]) -> None:
    database, _ = built
    rows = _query(database, """
        select entity, record_key, field, reason_code, raw_value, record_number, source_file
        from quarantine.staging_rejects order by entity, record_key, field""")
    assert rows == [
        ("event_registrations", "E2", "attended", "CAST_FAILED", "maybe", 2, "raw.crm__event_registrations.2026-11-01.file"),
        ("orders", "2", "amount", "CAST_FAILED", "12,5", 3, "raw.byod__orders.2026-11-01.file"),
        ("orders", "O2", "order_date", "CAST_FAILED", "31/10/2026", 3, "raw.erp__orders.2026-11-01.file"),
        ("orders", "O3", "customer_id", "REQUIRED_MISSING", None, 4, "raw.erp__orders.2026-11-01.file"),
        ("orders", "O3", "status", "REQUIRED_MISSING", None, 4, "raw.erp__orders.2026-11-01.file"),
        ("satisfaction_ratings", "S2", "score", "CAST_FAILED", "4.5", 2, "raw.helpdesk__satisfaction_ratings.2026-11-01.file"),
        ("tickets", "T3", "priority", "REQUIRED_MISSING", None, 3, "raw.helpdesk__tickets.2026-11-01.file"),
    ]
    reason = _query(database, "select reason from quarantine.staging_rejects where record_key = 'O2'")[0][0]
    assert reason == "value '31/10/2026' of order_date is not a valid date"


def test_raw_rows_reconcile(built: tuple[Path, str]) -> None:
    database, _ = built
    rows = {
        row[0]: row[1:]
        for row in _query(database, """
            select raw_table, raw_rows, staged_rows, quarantined_rows, superseded_rows, is_reconciled
            from audit.staging_reconciliation""")
    }
    assert len(rows) == len(staged_entities())
    assert rows["raw.erp__orders"] == (6, 2, 2, 2, True)
    assert rows["raw.helpdesk__tickets"] == (3, 2, 1, 0, True)
    assert rows["raw.byod__orders"] == (3, 2, 1, 0, True)
    assert rows["raw.erp__customers"] == (0, 0, 0, 0, True)
    assert all(row[-1] for row in rows.values())


@pytest.mark.slow
def test_same_staging_builds_on_postgres(built: tuple[Path, str], postgres_server, tmp_path: Path) -> None:
    """Portability: the same project, same raw rows, same staged/quarantined/reconciled results on PostgreSQL."""
    import psycopg

    database, _ = built
    dsn = postgres_server.create_database("crmwh_staging")
    copy_raw_to_postgres(database, dsn, tmp_path)
    env = {
        **os.environ,
        "CRMWH_DBT_TARGET": "postgres",
        "CRMWH_PG_HOST": "127.0.0.1",
        "CRMWH_PG_PORT": str(postgres_server.port),
        "CRMWH_PG_USER": postgres_server.user,
        "CRMWH_PG_DBNAME": "crmwh_staging",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    env.pop("CRMWH_BUILD_DB", None)
    result = subprocess.run(
        [str(DBT), "build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    with psycopg.connect(dsn) as conn:
        staged = conn.execute("select order_id, status, updated_at from staging.stg_erp__orders order by 1").fetchall()
        rejects = conn.execute(
            "select entity, record_key, field, reason_code from quarantine.staging_rejects order by 1, 2, 3").fetchall()
        reconciled = conn.execute(
            "select raw_table, raw_rows, staged_rows, quarantined_rows, superseded_rows, is_reconciled "
            "from audit.staging_reconciliation where raw_table = 'raw.erp__orders'").fetchall()
    assert staged == [("O1", "shipped", dt.datetime(2026, 11, 2, 7, 0)), ("O4", "invoiced", dt.datetime(2026, 11, 1, 8, 0))]
    assert rejects == _query(database, """
        select entity, record_key, field, reason_code from quarantine.staging_rejects order by 1, 2, 3""")
    assert reconciled == [("raw.erp__orders", 6, 2, 2, 2, True)]


def _dbt_staging(database: Path, work: Path, *args: str, env: dict[str, str] | None = None,
                 expect_ok: bool = True) -> str:
    """``dbt build`` of the staging layer (as the pipeline selects it) on ``database``."""
    from crmwh.pipeline.steps import DBT_LAYERS

    result = subprocess.run(
        [str(DBT), "build", *DBT_LAYERS["staging"], *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)],
        env={**os.environ, "CRMWH_BUILD_DB": str(database), "DBT_TARGET_PATH": str(work / "target"),
             "DBT_LOG_PATH": str(work / "logs"), "CRMWH_DBT_TARGET": "duckdb", **(env or {})},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert (result.returncode == 0) == expect_ok, result.stdout[-6000:] + result.stderr[-2000:]
    return result.stdout


def _add_late_orders(database: Path, rows: list[dict]) -> None:
    """Raw erp orders of a later load (night 2026-11-04, loaded 2026-11-05 01:00)."""
    later = {"_source_system": "erp", "_night": "2026-11-04", "_load_id": "load-4",
             "_loaded_at": "2026-11-05 01:00:00", "_source_file": "raw.erp__orders.2026-11-04.file",
             "customer_id": "C9", "currency": "EUR", "order_date": "2026-11-03"}
    con = duckdb.connect(str(database))
    try:
        for number, row in enumerate(rows, start=7):
            values = {**later, "_record_number": number, "_row_hash": f"hash-late-{number}", **row}
            con.execute(f"insert into raw.erp__orders ({', '.join(values)}) values ({', '.join('?' for _ in values)})",
                        list(values.values()))
    finally:
        con.close()


def test_incremental_staging_equals_a_full_rebuild(built: tuple[Path, str], tmp_path: Path) -> None:
    """A night stages only the raw rows loaded since the last build, ranked against the staged rows,
    and ends with the same staging, quarantine and reconciliation as rebuilding from all of raw."""
    database, _ = built
    incremental = tmp_path / "incremental.duckdb"
    shutil.copyfile(database, incremental)
    _add_late_orders(incremental, [
        {"order_id": "O1", "status": "invoiced", "updated_at": "2026-11-04T10:00:00Z"},  # newer: wins
        {"order_id": "O4", "status": "cancelled", "updated_at": "2026-10-01T10:00:00Z"},  # older: loses
        {"order_id": "O2", "status": "open", "updated_at": "2026-11-04T10:00:00Z"},  # was rejected
        {"order_id": "O5", "status": "open", "updated_at": "2026-11-04T10:00:00Z"},  # new key
        {"order_id": "O6", "status": "open", "order_date": "04.11.2026"},  # new reject
    ])
    full = tmp_path / "full.duckdb"
    shutil.copyfile(incremental, full)

    _dbt_staging(incremental, tmp_path / "incremental", env={"CRMWH_STAGING_LOADED_SINCE": "2026-11-03T00:00:00"})
    _dbt_staging(full, tmp_path / "full", "--full-refresh")

    # The incremental run read only the late rows (its compiled model filters on the load time).
    compiled = next((tmp_path / "incremental" / "target" / "compiled").rglob("stg_erp__orders.sql")).read_text()
    assert "\"_loaded_at\" >= cast('2026-11-03 00:00:00' as timestamp)" in compiled
    assert _query(incremental, "select order_id, status from staging.stg_erp__orders order by 1") == [
        ("O1", "invoiced"), ("O2", "open"), ("O4", "invoiced"), ("O5", "open")]
    assert ("O6", "order_date", "CAST_FAILED") in _query(
        incremental, "select record_key, field, reason_code from quarantine.staging_rejects")
    for table in ("staging.stg_erp__orders", "quarantine.staging_rejects", "audit.staging_reconciliation"):
        assert _query(incremental, f"select * from {table} order by all") == _query(full, f"select * from {table} order by all"), table


def test_a_load_the_staging_layer_skipped_fails_reconciliation(built: tuple[Path, str], tmp_path: Path) -> None:
    """Nothing lost: were a load ever left out of an incremental night (here: told to start after it),
    the reconciliation would not add up and the build fails."""
    database, _ = built
    skipped = tmp_path / "skipped.duckdb"
    shutil.copyfile(database, skipped)
    _add_late_orders(skipped, [{"order_id": "O7", "status": "open", "updated_at": "2026-11-04T10:00:00Z"}])
    output = _dbt_staging(skipped, tmp_path, env={"CRMWH_STAGING_LOADED_SINCE": "2026-11-06T00:00:00"},
                          expect_ok=False)
    assert "accepted_values_staging_reconciliation_is_reconciled" in output
    assert _query(skipped, "select raw_rows, staged_rows, is_reconciled from audit.staging_reconciliation "
                           "where raw_table = 'raw.erp__orders'") == [(7, 2, False)]
