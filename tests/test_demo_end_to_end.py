"""`crmwh demo` end to end, as a user runs it: simulated sources, the Airflow DAG per night, audit counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

NIGHTS = 2
SYSTEMS = {"callcenter", "crm", "erp", "helpdesk"}


def crmwh(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRMWH_HOME": str(home), "CRMWH_TASK_RETRIES": "0"}
    for name in ("CRMWH_CONFIG", "CRMWH_LANDING_DIR", "CRMWH_WAREHOUSE", "CRMWH_WORK_DIR"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "crmwh.cli", *args], env=env, capture_output=True, text=True,
                          timeout=1800)


def table_fingerprints(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, tuple]:
    """Row count and an order-independent content hash per table (load timestamps left out)."""
    prints = {}
    for schema, table in con.execute(
        f"""select table_schema, table_name from information_schema.tables
            where table_schema in ({", ".join("?" for _ in schemas)}) order by 1, 2""", list(schemas)
    ).fetchall():
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position", [schema, table]).fetchall()
            if c not in ("_loaded_at", "quarantined_at", "started_at", "finished_at", "noted_at")]
        row_hash = "hash(" + ", ".join(f'"{c}"' for c in columns) + ")"
        prints[f"{schema}.{table}"] = con.execute(
            f'select count(*), coalesce(sum({row_hash} % 1000000007), 0) from "{schema}"."{table}"').fetchone()
    return prints


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    result = crmwh(home, "demo", "--scale", "xs", "--nights", str(NIGHTS))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Published warehouse:" in result.stdout
    report = Path(result.stdout.split("Report:", 1)[1].split()[0])
    assert report.is_file() and report.stat().st_size > 1_000_000  # plotly inlined: opens offline
    return home


@pytest.mark.slow
def test_demo_reconciles_every_file_and_publishes_every_night(demo_home: Path):
    con = duckdb.connect(str(demo_home / "warehouse" / "crm.duckdb"), read_only=True)
    try:
        nights = con.execute("select status, published from audit.nights order by logical_date").fetchall()
        assert nights == [("success", True)] * NIGHTS
        per_system = dict(con.execute(
            "select source_system, sum(rows_loaded) from audit.load_ledger group by 1").fetchall())
        assert set(per_system) == SYSTEMS and min(per_system.values()) > 0
        mismatched = con.execute(
            "select count(*) from audit.load_ledger where rows_in <> rows_loaded + rows_quarantined").fetchone()[0]
        assert mismatched == 0
        quarantined, rejects = con.execute(
            "select (select sum(rows_quarantined) from audit.load_ledger), (select count(*) from quarantine.load_rejects)"
        ).fetchone()
        assert quarantined == rejects > 0
        # Every malformed line the simulator injected is in quarantine, at its file and line, and nothing else is.
        injected = set(con.execute(
            "select file, line_or_record from read_parquet(?) where kind = 'malformed_line'",
            [str(demo_home / "landing" / "_truth" / "dirt.parquet")]).fetchall())
        caught = set(con.execute("select location, line from quarantine.load_rejects").fetchall())
        assert injected == caught
        # Staging: every raw row is staged, quarantined (typing/required) or superseded by a newer version.
        assert con.execute("select bool_and(is_reconciled) from audit.staging_reconciliation").fetchone()[0] is True
        assert con.execute("select count(*) from quarantine.staging_rejects").fetchone()[0] > 0
        # Staging is built in full the first night, then from the rows loaded since its last build.
        staging = [detail for (detail,) in con.execute(
            "select detail from audit.night_steps where step = 'dbt:staging' and status = 'success' order by started_at"
        ).fetchall()]
        assert len(staging) == NIGHTS and staging[0].endswith("(full refresh)"), staging
        assert all("(raw rows loaded since " in detail for detail in staging[1:]), staging
    finally:
        con.close()


@pytest.mark.slow
def test_a_new_night_does_not_make_dbt_parse_the_whole_project_again(demo_home: Path):
    """The night reaches dbt in CRMWH_AS_OF_DATE: a --vars value that changes every night
    made dbt throw away its saved parse (about 16 s) on each night's first build."""
    logs = sorted((demo_home / "work" / "dbt_logs").glob("dbt.log*"))
    text = "\n".join(path.read_text(errors="replace") for path in logs)
    assert text.count("Running with dbt=") >= 2 * NIGHTS  # staging and warehouse builds of each night
    reasons = re.findall(r"Unable to do partial parsing because (.*)", text)
    assert reasons == ["saved manifest not found. Starting full parse."], reasons


@pytest.mark.slow
def test_rerunning_a_night_changes_nothing(demo_home: Path):
    warehouse = demo_home / "warehouse" / "crm.duckdb"
    schemas = ("raw", "quarantine", "staging", "core", "marts")
    con = duckdb.connect(str(warehouse), read_only=True)
    before = table_fingerprints(con, schemas)
    last_night = con.execute("select max(logical_date) from audit.nights").fetchone()[0]
    con.close()

    result = crmwh(demo_home, "nightly", "--date", last_night.isoformat())
    assert result.returncode == 0, result.stderr[-4000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert table_fingerprints(con, schemas) == before
        assert con.execute("select count(*) from audit.nights").fetchone()[0] == NIGHTS + 1
    finally:
        con.close()

    status = crmwh(demo_home, "status")
    assert status.returncode == 0 and status.stdout.count("success") == NIGHTS + 1
