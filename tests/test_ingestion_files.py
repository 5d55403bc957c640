"""File ingestion into raw: every record loaded or quarantined with file, line, field and reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crmwh.errors import CrmwhError
from ingestion.landing import LandedFile, SUPPORTED_FORMATS, entity_of, night_files
from ingestion.loader import ReconciliationError, _check_outcome, _check_tables_hold, _Context, _Outcome, load_file
from ingestion.night import load_night, load_system_night
from ingestion.warehouse import connect, ensure_contract_raw_tables

try:
    from support.landing import NIGHT, drop, warehouse_connection
except ImportError:
    from tests.support.landing import NIGHT, drop, warehouse_connection

ORDERS_HEADER = "order_id,customer_id,quote_id,employee_id,sales_channel,status,currency,order_date,updated_at\n"


@pytest.fixture()
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture()
def con(tmp_path: Path):
    yield from warehouse_connection(tmp_path)


def landed(landing: Path, path: Path, night: date = NIGHT) -> LandedFile:
    return LandedFile(path.parent.parent.name, entity_of(path.name), path,
                      SUPPORTED_FORMATS.get(path.suffix.lower()), night)


def rejects(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select location, line, field, reason_code from quarantine.load_rejects order by location, line"
    ).fetchall()


def ledger(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select location, status, rows_in, rows_loaded, rows_quarantined from audit.load_ledger order by location"
    ).fetchall()


def test_csv_loads_every_field_as_delivered_with_metadata(con, landing):
    path = drop(landing, "erp", "orders.csv",
                ORDERS_HEADER + "O1,C1,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z\n"
                "O2,C2,Q9,E2,direct,shipped,USD,2026-10-02,2026-10-02T11:00:00+01:00\n")
    result = load_file(con, landed(landing, path), landing)
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 2, 0)
    rows = con.execute(
        "select _source_system, _source_file, _record_number, _night, order_id, quote_id, updated_at, "
        "length(_row_hash) from raw.erp__orders order by _record_number"
    ).fetchall()
    assert rows == [
        ("erp", "erp/2026-11-01/orders.csv", 1, NIGHT, "O1", None, "2026-10-01T10:00:00Z", 32),
        ("erp", "erp/2026-11-01/orders.csv", 2, NIGHT, "O2", "Q9", "2026-10-02T11:00:00+01:00", 32),
    ]
    assert ledger(con) == [("erp/2026-11-01/orders.csv", "loaded", 2, 2, 0)]


def test_same_bytes_load_once_even_on_another_night(con, landing):
    content = ORDERS_HEADER + "O1,C1,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z\n"
    first = load_file(con, landed(landing, drop(landing, "erp", "orders.csv", content)), landing)
    again = load_file(con, landed(landing, drop(landing, "erp", "orders.csv", content)), landing)
    later = date(2026, 11, 2)
    redelivered = load_file(con, landed(landing, drop(landing, "erp", "orders.csv", content, later), later), landing)
    assert first.status == "loaded"
    assert again.status == redelivered.status == "already_loaded"
    assert con.execute("select count(*) from raw.erp__orders").fetchone()[0] == 1
    assert con.execute("select count(*) from audit.load_ledger").fetchone()[0] == 1


def test_malformed_csv_lines_are_quarantined_with_line_and_reason(con, landing):
    path = drop(landing, "erp", "orders.csv",
                ORDERS_HEADER
                + "O1,C1,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z\n"
                + "O2,C2\n"
                + "O3,C3,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z,extra,fields\n"
                + '"O4,C4,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z\n')
    result = load_file(con, landed(landing, path), landing)
    assert result.rows_in == result.rows_loaded + result.rows_quarantined
    assert result.rows_loaded == 1
    found = rejects(con)
    assert [(line, code) for _, line, _, code in found][:2] == [(3, "MISSING COLUMNS"), (4, "TOO MANY COLUMNS")]
    assert all(location == "erp/2026-11-01/orders.csv" for location, *_ in found)
    assert len(found) == result.rows_quarantined == 3


def test_rejects_of_one_file_never_count_for_the_next(con, landing):
    for night, body in ((NIGHT, "O2,C2\n"), (date(2026, 11, 2), "O3,C3,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z\n")):
        path = drop(landing, "erp", "orders.csv", ORDERS_HEADER + body, night)
        load_file(con, landed(landing, path, night), landing)
    assert ledger(con) == [("erp/2026-11-01/orders.csv", "loaded", 1, 0, 1),
                           ("erp/2026-11-02/orders.csv", "loaded", 1, 1, 0)]


def test_quoted_newlines_bom_and_crlf_are_read_correctly(con, landing):
    content = ("\ufeff" + ORDERS_HEADER.replace("\n", "\r\n")
               + 'O1,C1,,E1,"web\r\nshop",open,EUR,2026-10-01,2026-10-01T10:00:00Z\r\n'
               + "O2,C2,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z\r\n")
    result = load_file(con, landed(landing, drop(landing, "erp", "orders.csv", content)), landing)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)
    assert con.execute("select order_id, sales_channel from raw.erp__orders order by 1").fetchall() == [
        ("O1", "web\r\nshop"), ("O2", "web")]


def test_non_utf8_line_is_quarantined_and_the_rest_loads(con, landing):
    content = (ORDERS_HEADER + "O1,C1,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z\n").encode() + \
        "O2,Müller,,E1,web,open,EUR,2026-10-01,2026-10-01T10:00:00Z\n".encode("latin-1")
    result = load_file(con, landed(landing, drop(landing, "erp", "orders.csv", content)), landing)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert rejects(con)[0][1:] == (3, "customer_id", "INVALID ENCODING")


def test_missing_required_column_quarantines_every_row_naming_the_field(con, landing):
    path = drop(landing, "erp", "orders.csv", "order_id,status\nO1,open\nO2,open\n")
    result = load_file(con, landed(landing, path), landing)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 0, 2)
    assert rejects(con) == [("erp/2026-11-01/orders.csv", 2, "customer_id", "MISSING_REQUIRED_COLUMN"),
                            ("erp/2026-11-01/orders.csv", 3, "customer_id", "MISSING_REQUIRED_COLUMN")]
    assert con.execute("select raw_record from quarantine.load_rejects limit 1").fetchone()[0] == \
        '{"order_id":"O1","status":"open"}'


def test_wrong_delimiter_gets_a_hint(con, landing):
    path = drop(landing, "shop", "orders.csv", "customer_id;order_id;order_date;amount\nC1;O1;2026-10-01;5\n")
    load_file(con, landed(landing, path), landing)
    reason = con.execute("select reason from quarantine.load_rejects").fetchone()[0]
    assert "';'-delimited" in reason


def test_empty_header_only_binary_and_unsupported_files(con, landing):
    files = {
        "orders.csv": b"",
        "quotes.csv": ORDERS_HEADER.encode(),
        "products.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "payments.xlsx": b"PK\x03\x04",
    }
    for name, content in files.items():
        load_file(con, landed(landing, drop(landing, "erp", name, content)), landing)
    assert ledger(con) == [
        ("erp/2026-11-01/orders.csv", "empty", 0, 0, 0),
        ("erp/2026-11-01/payments.xlsx", "rejected_file", 1, 0, 1),
        ("erp/2026-11-01/products.csv", "rejected_file", 1, 0, 1),
        ("erp/2026-11-01/quotes.csv", "empty", 0, 0, 0),
    ]
    assert [(location, code) for location, _, _, code in rejects(con)] == [
        ("erp/2026-11-01/payments.xlsx", "UNSUPPORTED_FORMAT"),
        ("erp/2026-11-01/products.csv", "BINARY_FILE"),
    ]


def test_jsonl_bad_lines_are_quarantined_by_line(con, landing):
    lines = [
        b'{"ticket_id": "T1", "requester_id": "R1", "category": "how_to", "priority": "low", "status": "new",'
        b' "created_at": "2026-10-01T10:00:00Z", "updated_at": "2026-10-01T10:00:00Z", "tags": {"a": [1, 2]}}',
        b'{"ticket_id": "T2", "requester_id": ',
        b"",
        b"[1, 2]",
        b'{"ticket_id": "T3\xff"}',
        b'{"ticket_id": "T4", "requester_id": "R1", "category": "how_to", "priority": null, "status": "new",'
        b' "created_at": "2026-10-01T10:00:00Z", "updated_at": "2026-10-01T10:00:00Z"}',
    ]
    path = drop(landing, "helpdesk", "tickets.page-0001.jsonl", b"\n".join(lines) + b"\n")
    result = load_file(con, landed(landing, path), landing)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (5, 2, 3)
    assert [(line, code) for _, line, _, code in rejects(con)] == [
        (2, "MALFORMED_JSON"), (4, "NOT_AN_OBJECT"), (5, "INVALID_ENCODING")]
    rows = con.execute("select _record_number, ticket_id, priority, tags from raw.helpdesk__tickets order by 1").fetchall()
    assert rows == [(1, "T1", "low", '{"a":[1,2]}'), (6, "T4", None, None)]


def test_schema_drift_adds_the_renamed_column_and_keeps_old_rows(con, landing):
    base = {"ticket_id": "T1", "requester_id": "R1", "category": "how_to", "status": "new",
            "created_at": "2026-10-01T10:00:00Z", "updated_at": "2026-10-01T10:00:00Z"}
    import json
    drop(landing, "helpdesk", "tickets.page-0001.jsonl", json.dumps({**base, "priority": "low"}) + "\n")
    later = date(2026, 11, 2)
    drop(landing, "helpdesk", "tickets.page-0001.jsonl",
         json.dumps({**base, "ticket_id": "T2", "priority_level": "high"}) + "\n", later)
    load_night(con, landing, NIGHT)
    load_night(con, landing, later)
    assert con.execute("select ticket_id, priority, priority_level from raw.helpdesk__tickets order by 1").fetchall() \
        == [("T1", "low", None), ("T2", None, "high")]
    assert rejects(con) == []


def test_parquet_loads_and_corrupt_parquet_is_rejected(con, landing, tmp_path):
    table = pa.table({"order_line_id": ["L1", "L2"], "order_id": ["O1", "O1"], "product_id": ["P1", "P2"],
                      "quantity": [1, -2], "unit_price": [9.5, 3.0], "updated_at": ["2026-10-01T10:00:00Z"] * 2})
    folder = landing / "erp" / NIGHT.isoformat()
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "order_lines.parquet")
    (landing / "erp" / NIGHT.isoformat() / "quote_lines.parquet").write_bytes(b"PAR1 not really parquet")
    load_system_night(con, landing, "erp", NIGHT)
    assert con.execute("select _record_number, quantity, unit_price from raw.erp__order_lines order by 1").fetchall() \
        == [(1, "1", "9.5"), (2, "-2", "3.0")]
    assert [(loc, code) for loc, _, _, code in rejects(con)] == [
        ("erp/2026-11-01/quote_lines.parquet", "INVALID_PARQUET")]


def test_hostile_names_never_reach_sql_unquoted(con, landing):
    ensure_contract_raw_tables(con)
    hostile_column = 'x"; drop table raw.erp__orders; --'
    path = drop(landing, "shop", "orders.csv",
                f'customer_id,order_id,order_date,amount,"{hostile_column.replace(chr(34), chr(34) * 2)}"\n'
                "C1,O1,2026-10-01,5,boom\n")
    load_file(con, landed(landing, path), landing)
    bad_name = drop(landing, "shop", "orders'; drop table audit.load_ledger; --.csv", "a\n1\n")
    load_file(con, landed(landing, bad_name), landing)
    assert con.execute(f'select "{hostile_column.replace(chr(34), chr(34) * 2)}" from raw.byod__orders').fetchall() \
        == [("boom",)]
    assert con.execute("select count(*) from raw.erp__orders").fetchone()[0] == 0  # still there
    assert [code for *_, code in rejects(con)] == ["INVALID_NAME"]


def test_reconciliation_check_fails_loudly_on_a_mismatch(con, landing):
    path = drop(landing, "shop", "orders.csv", "customer_id,order_id,order_date,amount\nC1,O1,2026-10-01,5\n")
    result = load_file(con, landed(landing, path), landing)
    ctx = _Context(con, landed(landing, path), result.location, result.load_id, "raw.byod__orders", None, None)
    _check_outcome(ctx, _Outcome(1, 1, 0), 1)  # the truth passes
    _check_tables_hold(con, [result])
    with pytest.raises(ReconciliationError, match="counts do not reconcile"):
        _check_outcome(ctx, _Outcome(2, 1, 0), None)
    with pytest.raises(ReconciliationError, match="the file has 1 records but 2 were accounted for"):
        _check_outcome(ctx, _Outcome(2, 2, 0), 1)
    with pytest.raises(ReconciliationError, match="holds 1 rows of this load, expected 2"):
        _check_tables_hold(con, [replace(result, rows_in=2, rows_loaded=2)])
    with pytest.raises(ReconciliationError, match="quarantine holds 0 rows of this load, expected 1"):
        _check_tables_hold(con, [replace(result, rows_in=2, rows_quarantined=1)])


def test_missing_landing_and_missing_night_give_one_line_errors(con, landing):
    with pytest.raises(CrmwhError, match="landing folder .* does not exist"):
        load_night(con, landing, NIGHT)
    drop(landing, "erp", "orders.csv", ORDERS_HEADER)
    with pytest.raises(CrmwhError, match="no source system delivered night 2026-11-05"):
        load_night(con, landing, date(2026, 11, 5))


def test_a_system_without_that_night_is_noted_not_failed(con, landing):
    drop(landing, "erp", "orders.csv", ORDERS_HEADER)
    (landing / "crm" / "2026-10-31").mkdir(parents=True)
    loads = load_night(con, landing, NIGHT, systems=["erp", "crm"])
    assert [load.system for load in loads] == ["erp", "crm"]
    assert con.execute("select source_system, note from audit.load_notes").fetchall()[0][0] == "crm"


def test_night_files_order_and_entity_names(landing):
    for name in ("tickets.page-0002.jsonl", "tickets.page-0001.jsonl", "Requesters.jsonl", ".hidden"):
        drop(landing, "helpdesk", name, "{}\n")
    files = night_files(landing, "helpdesk", NIGHT)
    assert [(f.entity, f.path.name) for f in files] == [
        ("requesters", "Requesters.jsonl"), ("tickets", "tickets.page-0001.jsonl"), ("tickets", "tickets.page-0002.jsonl")]


def test_nightly_reconcile_step_catches_a_ledger_that_disagrees_with_the_tables(tmp_path):
    from crmwh.config import Settings
    from crmwh.pipeline import steps

    settings = Settings(home=tmp_path, landing_dir=tmp_path / "landing", warehouse_path=tmp_path / "wh" / "crm.duckdb",
                        work_dir=tmp_path / "work")
    drop(settings.landing_dir, "shop", "orders.csv", "customer_id,order_id,order_date,amount\nC1,O1,2026-10-01,5\nC2\n")
    steps.load_system(system="shop", night=NIGHT, run_id="r1", settings=settings)
    assert steps.reconcile_system(system="shop", night=NIGHT, run_id="r1", settings=settings)["files"] == 1
    con = connect(settings.build_db_path)
    con.execute("update audit.load_ledger set rows_loaded = 2, rows_quarantined = 0")  # what a lost row looks like
    con.close()
    with pytest.raises(CrmwhError, match=r"holds 1 rows of this load, expected 2; .*quarantine holds 1 rows of this load, expected 0"):
        steps.reconcile_system(system="shop", night=NIGHT, run_id="r1", settings=settings)
