"""Delivery equivalence: the same source records give the same ``core`` and ``marts`` tables whether
they arrive in order, out of order, twice or late.

Three simulated xs nights (N1, N2, N3) are delivered three ways, each built night by night with
the night's load and one ``dbt build`` (tests/support/nights.py; no Airflow):

* ``in_order``: each night's files in its own folder; N2's JSON-lines files split in two pages.
* ``twice_and_reversed`` (branches from ``in_order`` after N1): N2's pages in reverse order
  (page 1 holds the second half), N1's files delivered again into N2's folder under other names,
  and N2 run twice. Must equal ``in_order`` after N2 in every row, history included.
* ``out_of_order_and_late`` (branches after N1): N3's files land in N2's folder, before N2's,
  and N2's files arrive a night late, in N3's folder. After N3 it must hold the same final state
  as ``in_order`` after N3.

What "the same" compares (crmwh/reliability/checksum.py): per table, the row count and an
order-independent sum of row hashes over every column except load metadata (``_load_id``,
``_loaded_at``, ``_night``, ``_source_file``, ``_record_number``, ``source_night``: which folder,
page, line and night a copy came in, which these deliveries change by design) and build times
(``matched_at``, ``resolved_night``, ``dbt_valid_from``/``dbt_valid_to``/``dbt_updated_at``/``dbt_scd_id``,
``assignment_seq``: wall-clock time or count of dbt runs). For out-of-order and late delivery the
history the warehouse kept of *what it knew each night* legitimately differs (on N2 it knew N3's
records and not N2's), so that case compares the final state: the current version of each
snapshot (``dbt_valid_to is null``), the last day of the daily histories rebuilt from snapshots
(``ticket_daily_backlog``: on N2 it knew N2's ticket updates only a night later), and the rows of
the as-of-date marts as of N3 without their movement against the previous night's rows
(``customer_portfolio.previous_*``, ``n_moved_in/out``); every other table in full.
"""

from __future__ import annotations

import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from crmwh.config import Settings
from crmwh.reliability.checksum import (
    DEFAULT_EXCLUDED,
    differences,
    row_hash_sql,
    table_checksums,
    table_columns,
    tables_in,
)
from crmwh.simulator.generate import generate
from ingestion.warehouse import quote_ident

try:
    from support.nights import branch_home, build_night, home_settings
except ImportError:
    from tests.support.nights import branch_home, build_night, home_settings

SCHEMAS = ("core", "marts")
EXCLUDED = DEFAULT_EXCLUDED | {"source_night"}  # the night whose folder a record came in (load metadata)
# In the as-of marts, movement against the previous night's stored rows (customer_portfolio): that
# night's rows are what the warehouse knew then, which late delivery legitimately changes.
AGAINST_PREVIOUS_NIGHT = {"previous_as_of_date", "previous_n_customers", "n_customers_change",
                          "previous_lifetime_value", "n_moved_in", "n_moved_out"}


def copy_night(source: Path, landing: Path, from_night: date, to_night: date, prefix: str = "") -> None:
    """Deliver every file ``from_night`` delivered into ``to_night``'s folders (``prefix`` renames them:
    ``orders.csv`` -> ``orders.<prefix>.csv``, same entity, same bytes)."""
    for folder in sorted(source.glob(f"*/{from_night.isoformat()}")):
        target = landing / folder.parent.name / to_night.isoformat()
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                entity, rest = path.name.split(".", 1)
                name = f"{entity}.{prefix}.{rest}" if prefix else path.name
                shutil.copy2(path, target / name)


def split_pages(landing: Path, night: date, reverse: bool) -> int:
    """Split each JSON-lines file of the night into two pages; ``reverse``: page 1 holds the second half."""
    split = 0
    for path in sorted(landing.glob(f"*/{night.isoformat()}/*.jsonl")):
        lines = path.read_bytes().splitlines(keepends=True)
        if len(lines) < 2:
            continue
        halves = [lines[: len(lines) // 2], lines[len(lines) // 2:]]
        if reverse:
            halves.reverse()
        entity = path.name.split(".", 1)[0]
        path.unlink()
        for number, half in enumerate(halves, start=1):
            (path.parent / f"{entity}.page-{number:04d}.jsonl").write_bytes(b"".join(half))
        split += 1
    return split


def final_state_checksums(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, tuple[int, int, tuple]]:
    """Checksums of what the warehouse holds as of ``as_of``: current snapshot versions, the as-of
    marts' rows of that date, every other table in full."""
    sums = {}
    for schema, table in tables_in(con, SCHEMAS):
        all_columns = table_columns(con, schema, table)
        columns = [c for c in all_columns if c.lower() not in EXCLUDED]
        where = "true"
        if "dbt_valid_to" in all_columns:
            where = "dbt_valid_to is null"
        elif "as_of_date" in all_columns:
            where = f"as_of_date = date '{as_of.isoformat()}'"
            columns = [c for c in columns if c not in AGAINST_PREVIOUS_NIGHT]
        elif "date_day" in all_columns and "dbt_scd_id" in all_columns:
            where = f"date_day = date '{as_of.isoformat()}'"
        rows, total = con.execute(
            f"select count(*), coalesce(sum({row_hash_sql(columns)}::hugeint), 0)::varchar "
            f"from {quote_ident(schema)}.{quote_ident(table)} where {where}").fetchone()
        sums[f"{schema}.{table}"] = (rows, int(total), tuple(columns))
    return sums


def full_checksums(settings: Settings) -> dict:
    con = duckdb.connect(str(settings.build_db_path), read_only=True)
    try:
        return table_checksums(con, SCHEMAS, EXCLUDED)
    finally:
        con.close()


def final_checksums(settings: Settings, as_of: date) -> dict:
    con = duckdb.connect(str(settings.build_db_path), read_only=True)
    try:
        return final_state_checksums(con, as_of)
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Build the three deliveries; returns their checksums (and timings) for the tests to compare."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("delivery")
    source = root / "source"
    n1 = generate("xs", 3, source, seed=11, history_days=60).start
    n2, n3 = n1 + timedelta(days=1), n1 + timedelta(days=2)
    out: dict = {"nights": (n1, n2, n3)}

    in_order = home_settings(root / "in_order")
    for night in (n1, n2, n3):
        copy_night(source, in_order.landing_dir, night, night)
    out["pages_split"] = split_pages(in_order.landing_dir, n2, reverse=False)
    build_night(in_order, n1)
    after_n1 = root / "after_n1"
    shutil.copytree(in_order.work_dir, after_n1, ignore=shutil.ignore_patterns("logs", "dbt_logs", "gx_docs"))
    snapshot = Settings(home=root, landing_dir=in_order.landing_dir, warehouse_path=root / "unused" / in_order.warehouse_path.name,
                        work_dir=after_n1)
    build_night(in_order, n2)
    out["in_order_n2"] = full_checksums(in_order)
    out["in_order_n2_final"] = final_checksums(in_order, n2)
    build_night(in_order, n3)
    out["in_order_n3_final"] = final_checksums(in_order, n3)

    twice = branch_home(snapshot, root / "twice")
    copy_night(source, twice.landing_dir, n1, n1)
    copy_night(source, twice.landing_dir, n2, n2)
    assert split_pages(twice.landing_dir, n2, reverse=True) == out["pages_split"]
    copy_night(source, twice.landing_dir, n1, n2, prefix="redelivered")
    build_night(twice, n2, run_id="first")
    out["twice_n2_first"] = full_checksums(twice)
    build_night(twice, n2, run_id="again")
    out["twice_n2"] = full_checksums(twice)
    con = duckdb.connect(str(twice.build_db_path), read_only=True)
    out["twice_ledger"] = con.execute(
        "select count(*) filter (where location like '%.redelivered.%'), count(*) from audit.load_ledger "
        "where night = ?", [n2]).fetchone()
    con.close()

    late = branch_home(snapshot, root / "late")
    copy_night(source, late.landing_dir, n1, n1)
    copy_night(source, late.landing_dir, n3, n2)  # night 3's files land first, in night 2's folder
    copy_night(source, late.landing_dir, n2, n3)  # night 2's files a night late
    build_night(late, n2)
    build_night(late, n3)
    out["late_n3_final"] = final_checksums(late, n3)
    out["seconds"] = time.monotonic() - started
    print(f"delivery equivalence: 7 nights built in {out['seconds']:.0f} s")
    return out


def test_the_deliveries_change_something_to_compare(built: dict):
    """Guard against a vacuous pass: the data is there and the cases really differ in delivery."""
    assert built["pages_split"] >= 5
    sums = built["in_order_n3_final"]
    for table in ("core.dim_customer", "core.fct_orders", "core.fct_tickets", "marts.customer_value"):
        assert sums[table][0] > 0, table
    # night 2's and night 3's records differ: had the swap delivered nothing new, N3 would equal N2
    assert built["in_order_n2_final"] != built["in_order_n3_final"]
    # the redelivered night-1 files were recognised as already loaded: no ledger row, nothing loaded again
    redelivered, loaded = built["twice_ledger"]
    assert redelivered == 0 and loaded > 0, built["twice_ledger"]


def test_reversed_pages_redelivered_files_and_a_rerun_give_identical_tables(built: dict):
    assert differences(built["in_order_n2"], built["twice_n2_first"]) == {}
    assert differences(built["in_order_n2"], built["twice_n2"]) == {}


def test_out_of_order_and_late_records_give_the_same_final_state(built: dict):
    assert differences(built["in_order_n3_final"], built["late_n3_final"]) == {}
