"""The whole dbt project builds on a real PostgreSQL server (issue 3, portable SQL).

Simulated xs sources are loaded into DuckDB by the real ingestion, the raw tables are
copied into a fresh PostgreSQL database (``COPY`` from CSV, same column names and
types), and ``dbt build`` of the whole project (models, snapshots, every data and
unit test) must pass with ``--target postgres``. The DuckDB-only Python models are
disabled there by their own folders' config. Then a second, incremental build of the
facts and of the incremental marts (with their lists of rows to rebuild) must leave them
unchanged, and the core row counts must match DuckDB's.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from crmwh.resources import dbt_project_dir
from crmwh.simulator.generate import generate
from ingestion.night import load_night
from ingestion.warehouse import connect, ensure_contract_raw_tables

try:
    from support.raw_to_postgres import copy_raw_to_postgres
except ImportError:
    from tests.support.raw_to_postgres import copy_raw_to_postgres

PROJECT = dbt_project_dir()
DBT = Path(sys.executable).parent / "dbt"
START = dt.date(2026, 11, 1)
NIGHTS = 2
DATABASE = "crmwh_core_pg"
# Facts compared between the engines (row counts) and between two PostgreSQL builds (content).
FACTS = ["fct_orders", "fct_order_lines", "fct_payments", "fct_quotes", "fct_quote_lines",
         "fct_opportunity_stage_changes", "fct_interactions", "fct_campaign_touches", "fct_lead_conversions",
         "fct_consent_events", "fct_ticket_events", "fct_tickets", "fct_field_visits"]
# Incremental marts (macros/marts/customer_incremental.sql), run again with their lists and parents.
INCREMENTAL_MARTS = ["account_timeline", "marketing_campaign_followup"]


def _load_raw(work: Path) -> Path:
    landing = work / "landing"
    generate(scale="xs", nights=NIGHTS, out_dir=landing, start=START)
    database = work / "sources.duckdb"  # not raw.duckdb: the catalog name would clash with schema raw
    con = connect(database)
    try:
        ensure_contract_raw_tables(con)
        for night in range(NIGHTS):
            load_night(con, landing, START + dt.timedelta(days=night))
    finally:
        con.close()
    return database


def _dbt_postgres(server, work: Path, *args: str) -> str:
    env = {
        **os.environ,
        "CRMWH_DBT_TARGET": "postgres",
        "CRMWH_PG_HOST": "127.0.0.1",
        "CRMWH_PG_PORT": str(server.port),
        "CRMWH_PG_USER": server.user,
        "CRMWH_PG_DBNAME": DATABASE,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    env.pop("CRMWH_BUILD_DB", None)
    result = subprocess.run(
        [str(DBT), *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    return result.stdout


def _fact_checksums(dsn: str) -> dict[str, tuple[int, str]]:
    import psycopg

    sums = {}
    with psycopg.connect(dsn) as conn:
        for schema, tables in (("core", FACTS), ("marts", INCREMENTAL_MARTS)):
            for table in tables:
                count, digest = conn.execute(
                    f"select count(*), md5(coalesce(string_agg(md5(t::text), '' order by md5(t::text)), '')) "
                    f"from {schema}.{table} as t").fetchone()
                sums[table] = (count, digest)
    return sums


@pytest.fixture(scope="module")
def postgres_build(postgres_server, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("dbt_postgres")
    raw = _load_raw(work)
    dsn = postgres_server.create_database(DATABASE)
    copied = copy_raw_to_postgres(raw, dsn, work)
    last_night = (START + dt.timedelta(days=NIGHTS - 1)).isoformat()
    output = _dbt_postgres(postgres_server, work, "build", "--vars", f"{{as_of_date: '{last_night}'}}")
    first = _fact_checksums(dsn)
    _dbt_postgres(postgres_server, work, "run", "--select", "path:models/core/facts",
                  *(f"+{mart}" for mart in INCREMENTAL_MARTS), "--exclude", "path:models/staging", "resource_type:snapshot",
                  "--vars", f"{{as_of_date: '{last_night}'}}")
    second = _fact_checksums(dsn)
    return {"dsn": dsn, "raw": raw, "copied": copied, "output": output, "first": first, "second": second}


@pytest.mark.slow
def test_whole_project_builds_on_postgres(postgres_build: dict) -> None:
    output = postgres_build["output"]
    assert postgres_build["copied"] > 1000
    assert "ERROR=0" in output and "SKIP=0" in output, output[-4000:]
    assert "[WARNING]" not in output, output[-4000:]


@pytest.mark.slow
def test_core_on_postgres_matches_the_raw_rows(postgres_build: dict) -> None:
    """Facts are filled and as large as the staged entities they come from."""
    import psycopg

    with psycopg.connect(postgres_build["dsn"]) as conn:
        staged_lines = conn.execute("select count(*) from staging.stg_erp__order_lines").fetchone()[0]
        assert postgres_build["first"]["fct_order_lines"][0] == staged_lines > 0
        unknown = conn.execute("select count(*) from core.dim_product where is_unknown").fetchone()[0]
        assert unknown == 1
        backlog = conn.execute("select count(*) from core.ticket_daily_backlog").fetchone()[0]
        assert backlog > 0
    empty = [name for name, (count, _) in postgres_build["first"].items() if count == 0]
    assert empty == []


@pytest.mark.slow
def test_incremental_rerun_on_postgres_changes_nothing(postgres_build: dict) -> None:
    assert postgres_build["second"] == postgres_build["first"]
