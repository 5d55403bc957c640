"""`crmwh erase` (issue 7 item 5): one customer's personal data leaves every layer, the facts stay.

An xs warehouse is built through the real pieces (load, dbt build, publish); night 2 is held
back (delivered after the erasure). A consumer with orders and records in several systems is
erased through the CLI; then every text column of every table and view (build and published
database) and every landed file is scanned for their values (case-insensitive substring):
zero hits; counts and numeric sums of every table are unchanged; re-loading night 1 loads
nothing (the ledger follows the rewritten files). Night 2 then runs with the erasure list
applied before loading, and the scan is repeated.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from crmwh.cli import main
from crmwh.config import Settings, load_settings
from crmwh.pipeline import audit, steps
from crmwh.pipeline.dbt_runner import run_dbt
from crmwh.pipeline.publish import publish
from crmwh.simulator.generate import generate
from ingestion.night import load_night
from ingestion.warehouse import connect, ensure_contract_raw_tables

pytestmark = pytest.mark.slow

# The test's own idea of personal data per raw table (independent of crmwh.privacy's lists).
PERSONAL = {
    ("crm", "accounts", "account_id"): ["account_name", "phone", "street"],
    ("crm", "contacts", "contact_id"): ["first_name || ' ' || last_name", "email", "phone"],
    ("crm", "leads", "lead_id"): ["first_name || ' ' || last_name", "email", "phone"],
    ("erp", "customers", "customer_id"): ["customer_name", "email", "phone", "street"],
    ("helpdesk", "requesters", "requester_id"): ["full_name", "email", "phone"],
    ("callcenter", "calls", "call_id"): ["caller_phone"],
    ("crm", "web_visits", "visit_id"): ["visitor_email"],
}


def run_night(settings: Settings, night, run_id: str) -> None:
    con = connect(settings.build_db_path)
    try:
        ensure_contract_raw_tables(con)
        audit.start_night(con, night, run_id)
    finally:
        con.close()
    # The nightly's own load step: it applies the tombstone (erased people) before loading a system.
    for system in sorted(p.name for p in settings.landing_dir.iterdir() if p.is_dir() and p.name[0] not in "_."):
        steps.load_system(system=system, night=night, run_id=run_id, settings=settings)
    result = run_dbt(settings, ["build", "--select", "resource_type:model", "resource_type:seed",
                                "resource_type:snapshot", "--indirect-selection", "empty"], as_of=night)
    assert result.ok, result.failures[:5]
    con = connect(settings.build_db_path)
    try:
        audit.finish_night(con, night, run_id, status="success", published=True, reason=None)
    finally:
        con.close()
    publish(settings, tag=night.isoformat())


def pick_customer(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute(
        """select d.customer_key from core.dim_customer as d
           where d.customer_type = 'consumer'
             and exists (select 1 from core.fct_orders as o where o.customer_key = d.customer_key)
             and (select count(distinct source_system) from core.bridge_customer_source_id as b
                  where b.customer_key = d.customer_key) >= 3
             and (select count(*) from core.dim_customer as x where lower(x.customer_name) = lower(d.customer_name)) = 1
           order by (select count(*) from core.fct_tickets as t where t.customer_key = d.customer_key) desc,
                    d.customer_key
           limit 1"""
    ).fetchone()[0]


def personal_values(con: duckdb.DuckDBPyConnection, customer_key: str) -> set[str]:
    values = set(v for v in con.execute(
        "select customer_name, email, phone_e164 from core.dim_customer where customer_key = ?",
        [customer_key]).fetchone() if v)
    for (system, entity, key), expressions in PERSONAL.items():
        for expression in expressions:
            rows = con.execute(
                f"select distinct {expression} from raw.{system}__{entity} where {key} in "
                "(select source_id from core.bridge_customer_source_id where customer_key = ? "
                " and source_system = ? and source_entity = ?)", [customer_key, system, entity]).fetchall()
            values |= {row[0].strip() for row in rows if row[0] and row[0].strip()}
    # specific values only: first names alone occur in other people's records too
    return {v for v in values if len(v) >= 8 or "@" in v}


def scan_database(path: Path, values: set[str]) -> dict[str, int]:
    con = duckdb.connect()
    con.execute(f"attach '{path}' as \"{path.stem}\" (read_only)")
    con.execute(f"use \"{path.stem}\"")
    hits = {}
    try:
        tables = con.execute(
            "select table_schema, table_name, list(column_name) from information_schema.columns "
            "where table_catalog = current_database() and data_type = 'VARCHAR' group by all").fetchall()
        for schema, table, columns in tables:
            text = "lower(concat_ws(chr(31), " + ", ".join(f'"{c}"' for c in columns) + "))"
            condition = " or ".join(f"contains({text}, ?)" for _ in values)
            count = con.execute(f'select count(*) from "{schema}"."{table}" where {condition}',
                                [v.lower() for v in values]).fetchone()[0]
            if count:
                hits[f"{schema}.{table}"] = count
    finally:
        con.close()
    return hits


def scan_files(folder: Path, values: set[str]) -> list[str]:
    hits = []
    lowered = [v.lower() for v in values]
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text = str(duckdb.connect().execute(
                "select list(to_json(p)::varchar) from read_parquet(?) as p", [str(path)]).fetchone()[0])
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
        text = text.lower()
        hits += [f"{path}: {v}" for v in lowered if v in text]
    return hits


def free_blocks(path: Path) -> int:
    con = connect(path, read_only=True)
    try:
        return con.execute("select free_blocks from pragma_database_size() "
                           "where database_name = current_database()").fetchone()[0]
    finally:
        con.close()


def totals(path: Path) -> dict[str, tuple]:
    """Rows and the sum of every numeric column of every table outside audit."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        tables = con.execute(
            "select c.schema_name, c.table_name, list(c.column_name) filter (where c.data_type like 'DECIMAL%' or "
            "c.data_type in ('DOUBLE', 'BIGINT', 'INTEGER', 'HUGEINT')) from duckdb_columns() as c "
            "inner join duckdb_tables() as t on t.database_name = c.database_name and t.schema_name = c.schema_name "
            "and t.table_name = c.table_name "
            "where c.database_name = current_database() and c.schema_name <> 'audit' group by all").fetchall()
        for schema, table, numeric in tables:  # base tables: the stored facts (views re-derive identity links)
            sums = "".join(f', round(sum("{c}")::double, 4)' for c in numeric or [])
            out[f"{schema}.{table}"] = con.execute(f'select count(*){sums} from "{schema}"."{table}"').fetchone()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("erase")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRMWH_HOME", str(root))
        for name in ("CRMWH_LANDING_DIR", "CRMWH_WAREHOUSE", "CRMWH_WORK_DIR", "CRMWH_CONFIG"):
            patch.delenv(name, raising=False)
        settings = load_settings()
        settings.ensure_dirs()
        first = generate("xs", 2, settings.landing_dir).start
        second = first + timedelta(days=1)
        held = root / "held_back"
        for system in [p for p in settings.landing_dir.iterdir() if (p / second.isoformat()).is_dir()]:
            (held / system.name).mkdir(parents=True)
            shutil.move(str(system / second.isoformat()), str(held / system.name / second.isoformat()))
        run_night(settings, first, "erase_test_1")
        yield settings, first, second, held


def test_erase_removes_personal_data_everywhere_and_keeps_facts(home, capsys) -> None:
    settings, first, second, held = home
    con = connect(settings.build_db_path, read_only=True)
    try:
        customer = pick_customer(con)
        values = personal_values(con, customer)
    finally:
        con.close()
    assert len(values) >= 3, values
    assert scan_database(settings.build_db_path, values)  # positive control: the scan finds them before
    assert scan_files(settings.landing_dir, values)
    before = {"build": totals(settings.build_db_path), "published": totals(settings.warehouse_path)}

    assert main(["erase", "--customer", customer]) == 0
    assert "erased customer:" in capsys.readouterr().out

    assert scan_database(settings.build_db_path, values) == {}
    assert scan_database(settings.warehouse_path, values) == {}
    assert scan_files(settings.landing_dir, values) == []
    assert totals(settings.build_db_path) == before["build"]
    assert totals(settings.warehouse_path) == before["published"]
    # Republished by a rewrite: a byte copy would carry the build's freed blocks, which can
    # still hold the values just scrubbed.
    assert free_blocks(settings.build_db_path) > 0, "nothing freed: the next check would prove nothing"
    assert free_blocks(settings.warehouse_path) == 0
    con = connect(settings.build_db_path)
    try:
        row = con.execute("select customer_key, rows_changed, len(tables_touched) from audit.erasures").fetchall()
        assert row[0][0] == customer and row[0][1] > 0 and row[0][2] >= 3
        # the rewritten files are the loaded ones: re-loading the night loads nothing new
        results = [r for load in load_night(con, settings.landing_dir, first) for r in load.results]
        assert results and {r.status for r in results} == {"already_loaded"}
    finally:
        con.close()

    # Night 2 arrives after the erasure: the tombstone keeps the values out.
    for system in held.iterdir():
        shutil.move(str(system / second.isoformat()), str(settings.landing_dir / system.name / second.isoformat()))
    run_night(settings, second, "erase_test_2")
    assert scan_database(settings.build_db_path, values) == {}
    assert scan_database(settings.warehouse_path, values) == {}
    assert scan_files(settings.landing_dir, values) == []


def test_unknown_customer_is_a_one_line_error(home, capsys) -> None:
    assert main(["erase", "--customer", "no-such-customer"]) == 1
    err = capsys.readouterr().err.strip()
    assert "no customer 'no-such-customer' in core.dim_customer" in err and "\n" not in err
    assert main(["erase", "--source-id", "crm:contacts:NOPE"]) == 1
    assert "no source record" in capsys.readouterr().err
