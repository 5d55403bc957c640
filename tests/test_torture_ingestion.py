"""Bad-input torture suite for ingestion (issue 7, reliability item 1).

Every case delivers one kind of bad (or merely awkward) input through one source kind
(file drop, SQL via a real PostgreSQL, HTTP via a real local API) in the shape of one of the
source systems (ERP / call-center CSV, CRM / helpdesk JSON lines, Parquet) and states its
expected outcome: loaded as delivered into raw, quarantined with a reason code, or a
one-line error. After every load the suite checks, from the tables themselves:

* reconciliation: ``rows_in = rows_loaded + rows_quarantined`` in ``audit.load_ledger``, and
  those figures equal the rows really in ``raw.*`` and ``quarantine.load_rejects``;
* nothing lost: every physical record of the file is accounted for in raw or quarantine
  (CSV: header + the physical lines each loaded or quarantined record spans; JSON lines:
  non-blank lines; Parquet: the footer's row count);
* nothing duplicated: loading the same files again adds no row anywhere.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crmwh.errors import CrmwhError
from ingestion.landing import night_files
from ingestion.loader import load_files
from ingestion.night import load_system_night
from ingestion.sources.cursors import CursorStore
from ingestion.sources.http_api import extract_api
from ingestion.sources.postgres import extract_table
from ingestion.warehouse import connect, ensure_contract_raw_tables, qualified, quote_ident

try:
    from support.landing import NIGHT, drop, warehouse_connection
except ImportError:
    from tests.support.landing import NIGHT, drop, warehouse_connection

try:
    from support.http_api_server import ApiServer
except ImportError:  # tests/ became a package
    from tests.support.http_api_server import ApiServer

ORDERS = "order_id,customer_id,quote_id,employee_id,sales_channel,status,currency,order_date,updated_at"
CALLS = "call_id,caller_phone,agent_id,direction,queue,outcome,ticket_id,started_at,duration_seconds,updated_at"
BYOD = "customer_id,order_id,order_date,amount"
TS = "2026-10-01T10:00:00Z"


def order(n: object, channel: str = "web", updated_at: str = TS, customer: str = "C1") -> str:
    return f"O{n},{customer},,E1,{channel},open,EUR,2026-10-01,{updated_at}"


def ticket(n: object, **extra: object) -> dict:
    return {"ticket_id": f"T{n}", "requester_id": "R1", "category": "how_to", "priority": "low", "status": "new",
            "created_at": TS, "updated_at": TS, **extra}


def jl(*records: dict | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def order_lines(**extra: list) -> pa.Table:
    return pa.table({"order_line_id": ["L1", "L2"], "order_id": ["O1", "O1"], "product_id": ["P1", "P2"],
                     "quantity": [1, -2], "unit_price": [9.5, -3.0], "updated_at": [TS, TS], **extra})


# --------------------------------------------------------------------------- accounting helpers


def ledger(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select landed_file, status, rows_in, rows_loaded, rows_quarantined, raw_table, load_id, message"
        " from audit.load_ledger order by landed_file, started_at"
    ).fetchall()


def rejects(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select line, field, reason_code, reason, raw_record from quarantine.load_rejects order by line nulls first"
    ).fetchall()


def raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [f"raw.{name}" for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = {t: con.execute(f"select count(*) from {qualified(t)}").fetchone()[0] for t in raw_tables(con)}
    counts["quarantine"] = con.execute("select count(*) from quarantine.load_rejects").fetchone()[0]
    counts["ledger"] = con.execute("select count(*) from audit.load_ledger").fetchone()[0]
    return counts


def assert_reconciled(con: duckdb.DuckDBPyConnection) -> None:
    """The ledger adds up and matches what raw and quarantine really hold; no row is unowned."""
    owned_raw = 0
    for landed_file, _, rows_in, loaded, quarantined, raw_table, load_id, _ in ledger(con):
        assert rows_in == loaded + quarantined, landed_file
        in_raw = 0
        if raw_table and raw_table in raw_tables(con):
            in_raw = con.execute(f"select count(*) from {qualified(raw_table)} where _load_id = ?", [load_id]).fetchone()[0]
        owned_raw += in_raw
        assert in_raw == loaded, f"{landed_file}: raw holds {in_raw}, ledger says {loaded}"
        in_q = con.execute("select count(*) from quarantine.load_rejects where load_id = ?", [load_id]).fetchone()[0]
        assert in_q == quarantined, f"{landed_file}: quarantine holds {in_q}, ledger says {quarantined}"
    assert owned_raw == sum(c for t, c in table_counts(con).items() if t.startswith("raw.")), "raw rows of no load"
    assert con.execute(
        "select count(*) from quarantine.load_rejects where load_id not in (select load_id from audit.load_ledger)"
    ).fetchone()[0] == 0


def _lines_of(text: str) -> int:
    """Non-blank physical lines a piece of delivered text spans (any line ending)."""
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    return sum(1 for line in normal.split("\n") if line.strip())


def assert_every_physical_record_accounted(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> None:
    """Nothing lost: each record of the file (CSV: each physical line) is in raw or in quarantine."""
    (status, rows_in, loaded, quarantined, raw_table, load_id), = con.execute(
        "select status, rows_in, rows_loaded, rows_quarantined, raw_table, load_id from audit.load_ledger"
        " where landed_file like ?", ["%/" + path.name]).fetchall()
    if status == "rejected_file":  # the file as a whole is the quarantined record
        assert (rows_in, quarantined) == (1, 1)
        return
    data = path.read_bytes()
    if fmt == "parquet":
        assert rows_in == pq.read_metadata(path).num_rows
        return
    if status == "empty":  # nothing, or a header only
        assert rows_in == 0 and _lines_of(data.decode("utf-8", errors="replace")) <= 1
        return
    if fmt == "parquet":
        assert rows_in == pq.read_metadata(path).num_rows
        return
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if fmt == "jsonl":
        assert rows_in == sum(1 for line in data.split(b"\n") if line.strip() not in (b"", b"\xef\xbb\xbf"))
        return
    physical = _lines_of(text)
    spans = 0
    if loaded:
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema || '.' || table_name = ?"
            " and column_name not like '\\_%' escape '\\'", [raw_table]).fetchall()]
        record = " || chr(1) || ".join(f"coalesce({quote_ident(c)}, '')" for c in columns)
        for (value,) in con.execute(f"select {record} from {qualified(raw_table)} where _load_id = ?", [load_id]).fetchall():
            spans += max(1, _lines_of(value.replace("\x01", "x")))
    for (raw_record,) in con.execute("select raw_record from quarantine.load_rejects where load_id = ?", [load_id]).fetchall():
        if raw_record and raw_record.startswith("{"):
            values = json.loads(raw_record).values()
            raw_record = ",".join("" if v is None else str(v) for v in values)
        spans += max(1, _lines_of(raw_record or "x"))
    assert physical == 1 + spans, f"{path.name}: {physical} physical lines, header + {spans} accounted for"


def assert_reload_adds_nothing(con: duckdb.DuckDBPyConnection, landing: Path, system: str,
                               night: date = NIGHT) -> None:
    ensure_contract_raw_tables(con)
    before = table_counts(con)
    again = load_system_night(con, landing, system, night)
    assert {r.status for r in again.results} <= {"already_loaded"}
    assert table_counts(con) == before


# --------------------------------------------------------------------------- file cases


@dataclass(frozen=True)
class Case:
    system: str
    name: str
    content: bytes | str
    status: str
    loaded: int
    quarantined: int
    codes: tuple[str, ...] = ()  # quarantine reason codes, in line order
    check: Callable[[duckdb.DuckDBPyConnection, list[tuple]], None] | None = None
    message: str = ""  # expected in the ledger message or a quarantine reason


def _raw(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _check_quoted(con, _):
    assert _raw(con, "select order_id, sales_channel from raw.erp__orders order by 1") == [
        ("O1", "web\nshop"), ("O2", "a, \"b\"\r\nc"), ("O3", "web")]


def _check_unterminated(con, found):
    line, field_name, code, reason, raw_record = found[0]
    assert (line, field_name) == (3, "sales_channel") and "physical lines 3-5" in reason
    assert "O3," in raw_record and "O4," in raw_record  # the swallowed lines are kept, not lost


def _check_merged(con, found):
    assert found[0][1] == "updated_at" and "O3," in found[0][4]
    assert _raw(con, "select order_id from raw.erp__orders order by 1") == [("O1",), ("O4",)]


def _check_bom(con, _):
    assert _raw(con, "select order_id from raw.erp__orders") == [("O1",)]


def _check_huge(con, _):
    assert _raw(con, "select length(sales_channel) from raw.erp__orders") == [(1_000_000,)]


def _check_text_kept(con, _):
    assert _raw(con, "select order_id, order_date, amount from raw.byod__orders order by _record_number") == [
        ("O1", "31/02/2026", "abc"), ("O2", "9999-12-31", "-1e400"), ("O3", "0001-01-01", "-0.00")]


def _check_nulls(con, _):
    assert _raw(con, "select customer_id, order_id, amount from raw.byod__orders order by _record_number") == [
        (None, "O1", "5"), ("", "O2", "5"), ("C3", None, None)]


def _check_dupes(con, _):
    rows = _raw(con, "select order_id, status, updated_at, _row_hash from raw.erp__orders order by _record_number")
    assert [r[:3] for r in rows] == [("O1", "open", TS), ("O1", "open", TS), ("O1", "shipped", TS)]
    assert rows[0][3] == rows[1][3] != rows[2][3]  # exact repeats share a hash; the conflict does not


def _check_injection_column(con, _):
    assert _raw(con, 'select "x""); drop table audit.load_ledger; --" from raw.byod__orders') == [("boom",)]
    assert con.execute("select count(*) from audit.load_ledger").fetchone()[0] == 1


def _check_calls_crlf(con, _):
    assert _raw(con, "select call_id, updated_at from raw.callcenter__calls order by 1") == [("K1", TS), ("K2", TS)]


def _check_jsonl_types(con, _):
    assert _raw(con, "select priority, needs_field_visit, order_id, solved_at from raw.helpdesk__tickets") == [
        ("3", "true", None, "-5")]


def _check_nested(con, _):
    assert _raw(con, "select tags, subject from raw.helpdesk__tickets") == [('{"a":[1,{"b":null}]}', '["x","y"]')]


def _check_case_variants(con, _):
    assert _raw(con, "select ticket_id, priority from raw.helpdesk__tickets order by 1") == [("T1", "low"), ("T2", "high")]


def _check_jsonl_crlf(con, _):
    assert _raw(con, "select ticket_id, updated_at from raw.helpdesk__tickets order by 1") == [("T1", TS), ("T2", TS)]


def _check_parquet_nested(con, _):
    assert _raw(con, "select attrs, tags from raw.erp__order_lines order by _record_number") == [
        ('{"a":1,"b":"it\'s \\"q\\""}', "[1,2]"), (None, "[]")]


def _check_parquet_text(con, _):
    assert _raw(con, "select quantity, unit_price, updated_at from raw.erp__order_lines order by _record_number") == [
        ("1", "9.5", TS), ("-2", "-3.0", TS)]


QUOTED_CRLF = '"a, ""b""\r\nc"'  # a quoted value with a comma, doubled quotes and CRLF
CSV_LATIN1 = (ORDERS + "\n" + order(1) + "\n").encode() + (order(2, channel="Bücher") + "\n").encode("latin-1")
CSV_CUT_MULTIBYTE = (ORDERS + "\n" + order(1) + "\n" + order(2, updated_at="Zü")).encode()[:-1]
JSONL_CUT_MULTIBYTE = (jl(ticket(1)) + json.dumps(ticket(2, subject="Zü"), ensure_ascii=False)).encode()[:-3]

CASES = {
    # ---------------------------------------------------------------- CSV (ERP, call-center, bring-your-own)
    "csv_truncated_mid_record": Case("erp", "orders.csv", f"{ORDERS}\n{order(1)}\n{order(2)[:14]}", "loaded", 1, 1,
                                     ("MISSING COLUMNS",)),
    "csv_truncated_mid_multibyte_char": Case("erp", "orders.csv", CSV_CUT_MULTIBYTE, "loaded", 1, 1, ("INVALID ENCODING",)),
    "csv_semicolon_delimited": Case("erp", "orders.csv", f"{ORDERS}\n{order(1)}\n".replace(",", ";"), "loaded", 0, 1,
                                    ("MISSING_REQUIRED_COLUMN",), message="';'-delimited"),
    "csv_tab_delimited": Case("callcenter", "calls.csv", f"{CALLS}\nK1,+1,A1,in,q,ok,,{TS},5,{TS}\n".replace(",", "\t"),
                              "loaded", 0, 1, ("MISSING_REQUIRED_COLUMN",), message="'\\t'-delimited"),
    "csv_quoted_newlines_and_quotes": Case(
        "erp", "orders.csv",
        f'{ORDERS}\n{order(1, channel=chr(34) + "web" + chr(10) + "shop" + chr(34))}\n'
        f'{order(2, channel=QUOTED_CRLF)}\n{order(3)}\n',
        "loaded", 3, 0, check=_check_quoted),
    "csv_unterminated_quote_mid_file": Case(
        "erp", "orders.csv", f'{ORDERS}\n{order(1)}\n{order(2, channel=chr(34) + "web")}\n{order(3)}\n{order(4)}\n',
        "loaded", 1, 1, ("UNQUOTED VALUE",), check=_check_unterminated),
    "csv_unterminated_quote_merges_lines_into_a_valid_record": Case(
        "erp", "orders.csv",
        f'{ORDERS}\n{order(1)}\n{order(2, updated_at=chr(34) + "2026-10-01")}\n{order(3, updated_at=TS + chr(34))}\n{order(4)}\n',
        "loaded", 2, 1, ("SUSPECT_MERGED_LINES",), check=_check_merged),
    "csv_utf8_bom": Case("erp", "orders.csv", "\ufeff" + f"{ORDERS}\n{order(1)}\n", "loaded", 1, 0, check=_check_bom),
    "csv_utf16": Case("erp", "orders.csv", f"{ORDERS}\n{order(1)}\n".encode("utf-16"), "rejected_file", 0, 1,
                      ("INVALID_ENCODING",), message="UTF-16"),
    "csv_latin1_record": Case("erp", "orders.csv", CSV_LATIN1, "loaded", 1, 1, ("INVALID ENCODING",)),
    "csv_latin1_header": Case("shop", "orders.csv", (BYOD + ",Straße\nC1,O1,2026-10-01,5,x\n").encode("latin-1"),
                              "rejected_file", 0, 1, ("INVALID_ENCODING",)),
    "csv_crlf": Case("callcenter", "calls.csv", f"{CALLS}\r\nK1,+1,A1,in,q,ok,,{TS},5,{TS}\r\nK2,+2,A1,in,q,ok,,{TS},5,{TS}\r\n",
                     "loaded", 2, 0, check=_check_calls_crlf),
    "csv_mixed_line_endings": Case("erp", "orders.csv", f"{ORDERS}\r\n{order(1)}\n{order(2)}\r\n{order(3)}\r",
                                   "loaded", 3, 0, message="mixed line endings"),
    "csv_cr_only_line_endings": Case("erp", "orders.csv", f"{ORDERS}\r{order(1)}\r{order(2)}\r", "loaded", 2, 0),
    "csv_blank_lines": Case("erp", "orders.csv", f"{ORDERS}\n{order(1)}\n\n\n{order(2)}\n", "loaded", 2, 0),
    "csv_huge_field_1mb": Case("erp", "orders.csv", f"{ORDERS}\n{order(1, channel='x' * 1_000_000)}\n", "loaded", 1, 0,
                               check=_check_huge),
    "csv_very_long_line_too_many_columns": Case("erp", "orders.csv", f"{ORDERS}\n{order(1)}\n{order(2)}{',v' * 5000}\n",
                                                "loaded", 1, 1, ("TOO MANY COLUMNS",)),
    "csv_wrong_types_ancient_future_negative": Case(
        "shop", "orders.csv", f"{BYOD}\nC1,O1,31/02/2026,abc\nC2,O2,9999-12-31,-1e400\nC3,O3,0001-01-01,-0.00\n",
        "loaded", 3, 0, check=_check_text_kept),
    "csv_null_and_empty_required_fields": Case("shop", "orders.csv", f'{BYOD}\n,O1,2026-10-01,5\n"",O2,2026-10-01,5\nC3,,,\n',
                                               "loaded", 3, 0, check=_check_nulls),
    "csv_duplicate_keys_and_same_timestamp_conflict": Case(
        "erp", "orders.csv", f"{ORDERS}\n{order(1)}\n{order(1)}\n{order(1).replace('open', 'shipped')}\n",
        "loaded", 3, 0, check=_check_dupes),
    "csv_orphan_references": Case("erp", "orders.csv", f"{ORDERS}\n{order(1, customer='C-DOES-NOT-EXIST')}\n", "loaded", 1, 0),
    "csv_dropped_required_column": Case("erp", "orders.csv", "order_id,status\nO1,open\nO2,open\n", "loaded", 0, 2,
                                        ("MISSING_REQUIRED_COLUMN", "MISSING_REQUIRED_COLUMN")),
    "csv_header_duplicate_names": Case("erp", "orders.csv", f"{ORDERS},order_id\n{order(1)},O9\n", "rejected_file", 0, 1,
                                       ("DUPLICATE_COLUMN_NAME",)),
    "csv_header_names_differing_only_in_case": Case("erp", "orders.csv", f"{ORDERS},Order_ID\n{order(1)},O9\n",
                                                    "rejected_file", 0, 1, ("DUPLICATE_COLUMN_NAME",), message="case"),
    "csv_header_reserved_name_other_case": Case("erp", "orders.csv", f"{ORDERS},_LOAD_ID\n{order(1)},x\n",
                                                "rejected_file", 0, 1, ("RESERVED_COLUMN_NAME",)),
    "csv_empty_header_line": Case("erp", "orders.csv", f"\n{order(1)}\n", "rejected_file", 0, 1, ("NO_HEADER",)),
    "csv_empty_column_name": Case("shop", "orders.csv", f"{BYOD},,x\nC1,O1,2026-10-01,5,,x\n", "rejected_file", 0, 1,
                                  ("EMPTY_COLUMN_NAME",)),
    "csv_header_only": Case("erp", "orders.csv", f"{ORDERS}\n", "empty", 0, 0),
    "csv_zero_bytes": Case("erp", "orders.csv", b"", "empty", 0, 0),
    "csv_binary_content": Case("erp", "orders.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
                               "rejected_file", 0, 1, ("BINARY_FILE",)),
    "csv_sql_injection_column_name": Case(
        "shop", "orders.csv", f'{BYOD},"x""); drop table audit.load_ledger; --"\nC1,O1,2026-10-01,5,boom\n', "loaded", 1, 0,
        check=_check_injection_column),
    # ---------------------------------------------------------------- JSON lines (CRM, helpdesk API pages)
    "jsonl_truncated_mid_record": Case("helpdesk", "tickets.page-0001.jsonl", jl(ticket(1)) + json.dumps(ticket(2))[:40],
                                       "loaded", 1, 1, ("MALFORMED_JSON",)),
    "jsonl_truncated_mid_multibyte_char": Case("helpdesk", "tickets.page-0001.jsonl", JSONL_CUT_MULTIBYTE, "loaded", 1, 1,
                                               ("INVALID_ENCODING",)),
    "jsonl_utf8_bom": Case("helpdesk", "tickets.page-0001.jsonl", "\ufeff" + jl(ticket(1), ticket(2)), "loaded", 2, 0),
    "jsonl_utf16": Case("helpdesk", "tickets.page-0001.jsonl", jl(ticket(1)).encode("utf-16"), "rejected_file", 0, 1,
                        ("INVALID_ENCODING",)),
    "jsonl_latin1_record": Case("crm", "contacts.page-0001.jsonl",
                                jl({"contact_id": "K1", "created_at": TS, "updated_at": TS}).encode()
                                + jl({"contact_id": "K2", "last_name": "Müller", "created_at": TS, "updated_at": TS},
                                     ).encode("latin-1"), "loaded", 1, 1, ("INVALID_ENCODING",)),
    "jsonl_crlf": Case("helpdesk", "tickets.page-0001.jsonl", jl(ticket(1), ticket(2)).replace("\n", "\r\n"), "loaded", 2, 0,
                       check=_check_jsonl_crlf),
    "jsonl_nested_objects_and_arrays": Case("helpdesk", "tickets.page-0001.jsonl",
                                            jl(ticket(1, tags={"a": [1, {"b": None}]}, subject=["x", "y"])), "loaded", 1, 0,
                                            check=_check_nested),
    "jsonl_wrong_types_kept_as_text": Case("helpdesk", "tickets.page-0001.jsonl",
                                           jl(ticket(1, priority=3, needs_field_visit=True, order_id=None, solved_at=-5)),
                                           "loaded", 1, 0, check=_check_jsonl_types),
    "jsonl_json_array_instead_of_lines": Case("helpdesk", "tickets.page-0001.jsonl", json.dumps([ticket(1), ticket(2)]) + "\n",
                                              "loaded", 0, 1, ("NOT_AN_OBJECT",)),
    "jsonl_pretty_printed_object": Case("helpdesk", "tickets.page-0001.jsonl", json.dumps(ticket(1), indent=1) + "\n",
                                        "loaded", 0, 9, ("MALFORMED_JSON",) * 9),
    "jsonl_duplicate_key_in_record": Case("helpdesk", "tickets.page-0001.jsonl",
                                          jl(ticket(1), json.dumps(ticket(2))[:-1] + ', "status": "closed"}'), "loaded", 1, 1,
                                          ("DUPLICATE_KEY",), message='"status"'),
    "jsonl_keys_differing_only_in_case_in_one_record": Case(
        "helpdesk", "tickets.page-0001.jsonl", jl(ticket(1), ticket(2, Priority="high")), "loaded", 1, 1, ("DUPLICATE_KEY",)),
    "jsonl_key_case_drift_between_records": Case(
        "helpdesk", "tickets.page-0001.jsonl",
        jl(ticket(1), {("Priority" if k == "priority" else k): v for k, v in ticket(2, priority="high").items()}),
        "loaded", 2, 0, check=_check_case_variants),
    "jsonl_empty_key": Case("helpdesk", "tickets.page-0001.jsonl", jl(ticket(1), ticket(2, **{"": 1}), ticket(3)), "loaded", 2, 1,
                            ("EMPTY_FIELD_NAME",)),
    "jsonl_reserved_key": Case("helpdesk", "tickets.page-0001.jsonl", jl(ticket(1), ticket(2, _Row_Hash="x")), "loaded", 1, 1,
                               ("RESERVED_FIELD_NAME",)),
    "jsonl_huge_field_1mb": Case("helpdesk", "tickets.page-0001.jsonl", jl(ticket(1, subject="é" * 1_000_000)), "loaded", 1, 0),
    "jsonl_missing_required_field": Case("helpdesk", "tickets.page-0001.jsonl",
                                         jl({k: v for k, v in ticket(1).items() if k != "requester_id"}), "loaded", 0, 1,
                                         ("MISSING_REQUIRED_COLUMN",)),
    "jsonl_sql_injection_key": Case("helpdesk", "tickets.page-0001.jsonl",
                                    jl(ticket(1, **{"x'); drop table raw.helpdesk__tickets; --": "boom"})), "loaded", 1, 0),
    "jsonl_zero_bytes": Case("helpdesk", "tickets.page-0001.jsonl", b"", "empty", 0, 0),
    # ---------------------------------------------------------------- Parquet (ERP order lines, CRM web visits)
    "parquet_not_parquet": Case("erp", "order_lines.parquet", f"{ORDERS}\n{order(1)}\n", "rejected_file", 0, 1,
                                ("INVALID_PARQUET",)),
    "parquet_truncated": Case("erp", "order_lines.parquet", parquet_bytes(order_lines())[:300], "rejected_file", 0, 1,
                              ("INVALID_PARQUET",)),
    "parquet_nested_struct_and_list_columns": Case(
        "erp", "order_lines.parquet",
        parquet_bytes(order_lines(attrs=[{"a": 1, "b": "it's \"q\""}, None], tags=[[1, 2], []])), "loaded", 2, 0,
        check=_check_parquet_nested),
    "parquet_typed_negative_values": Case("erp", "order_lines.parquet", parquet_bytes(order_lines()), "loaded", 2, 0,
                                          check=_check_parquet_text),
    "parquet_missing_required_column": Case("crm", "web_visits.parquet",
                                            parquet_bytes(pa.table({"visit_id": ["V1", "V2"], "updated_at": [TS, TS]})),
                                            "loaded", 0, 2, ("MISSING_REQUIRED_COLUMN",) * 2),
    "parquet_columns_differing_only_in_case": Case(
        "erp", "order_lines.parquet", parquet_bytes(order_lines(ORDER_ID=["x", "y"])), "rejected_file", 0, 1,
        ("DUPLICATE_COLUMN_NAME",)),
    "parquet_zero_rows": Case("erp", "order_lines.parquet", parquet_bytes(order_lines().slice(0, 0)), "empty", 0, 0),
}


@pytest.fixture()
def con(tmp_path: Path):
    yield from warehouse_connection(tmp_path)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_file_bad_input(case: Case, con, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    path = drop(landing, case.system, case.name, case.content)
    load = load_system_night(con, landing, case.system, NIGHT)
    (result,) = load.results
    assert (result.status, result.rows_loaded, result.rows_quarantined) == (case.status, case.loaded, case.quarantined), \
        (result, rejects(con))
    found = rejects(con)
    assert tuple(code for _, _, code, _, _ in found) == case.codes
    for line, _, _, reason, _ in found:
        assert reason and "\n" not in reason  # one line, for the user
    if case.message:
        texts = [result.message] + [reason for _, _, _, reason, _ in found]
        assert any(case.message in text for text in texts), texts
    if case.check:
        case.check(con, found)
    assert_reconciled(con)
    assert_every_physical_record_accounted(con, path, path.suffix.lstrip("."))
    assert_reload_adds_nothing(con, landing, case.system)


# --------------------------------------------------------------------------- across files and nights


def test_same_file_twice_and_same_records_in_two_files(con, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    body = f"{ORDERS}\n{order(1)}\n{order(2)}\n"
    drop(landing, "erp", "orders.csv", body)
    drop(landing, "erp", "orders.batch-0002.csv", body)  # same bytes, another name: a redelivery
    drop(landing, "erp", "orders.batch-0003.csv", f"{ORDERS}\n{order(2)}\n{order(1)}\n")  # same records, other order
    load = load_system_night(con, landing, "erp", NIGHT)
    # Files load in name order: batch-0002, batch-0003, then orders.csv (same bytes as batch-0002).
    assert [(r.location.rsplit("/", 1)[1], r.status) for r in load.results] == [
        ("orders.batch-0002.csv", "loaded"), ("orders.batch-0003.csv", "loaded"), ("orders.csv", "already_loaded")]
    # Raw is append-only and keeps the repeat; the row hash shows it (staging de-duplicates).
    assert con.execute("select count(*), count(distinct _row_hash) from raw.erp__orders").fetchone() == (4, 2)
    assert_reconciled(con)
    assert_reload_adds_nothing(con, landing, "erp")


def test_schema_drift_renamed_dropped_and_case_changed_columns(con, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    nights = [date(2026, 11, d) for d in (1, 2, 3)]
    drop(landing, "erp", "orders.csv", f"{ORDERS}\n{order(1)}\n", nights[0])
    # Night 2: sales_channel renamed to channel, quote_id dropped.
    drift = ORDERS.replace("quote_id,", "").replace("sales_channel", "channel")
    drop(landing, "erp", "orders.csv", f"{drift}\nO2,C1,E1,shop,open,EUR,2026-10-02,{TS}\n", nights[1])
    # Night 3: a column's case changes (the same warehouse column) and one is added.
    drop(landing, "erp", "orders.csv", f"{ORDERS.replace('employee_id', 'Employee_ID')},extra\n{order(3)},e\n", nights[2])
    for night in nights:
        load_system_night(con, landing, "erp", night)
    rows = con.execute(
        "select order_id, quote_id, sales_channel, channel, employee_id, extra from raw.erp__orders order by 1").fetchall()
    assert rows == [("O1", None, "web", None, "E1", None), ("O2", None, None, "shop", "E1", None),
                    ("O3", None, "web", None, "E1", "e")]
    assert rejects(con) == []
    assert_reconciled(con)
    for night in nights:
        assert_reload_adds_nothing(con, landing, "erp", night)


def test_a_bad_file_never_blocks_or_loses_the_good_ones(con, tmp_path: Path) -> None:
    """A night mixing the cases above: per-file outcomes, all reconciled, the batch still loads."""
    landing = tmp_path / "landing"
    for case_id in ("csv_utf16", "csv_unterminated_quote_mid_file", "csv_mixed_line_endings", "csv_zero_bytes"):
        case = CASES[case_id]
        drop(landing, "erp", case.name.replace("orders", case_id), case.content)
    drop(landing, "erp", "order_lines.parquet", CASES["parquet_not_parquet"].content)
    load = load_system_night(con, landing, "erp", NIGHT)
    assert len(load.results) == 5 and load.rows_in == load.rows_loaded + load.rows_quarantined
    assert_reconciled(con)
    assert_reload_adds_nothing(con, landing, "erp")


def test_hostile_file_and_folder_names(con, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    drop(landing, "erp", "orders'; drop table audit.load_ledger; --.csv", f"{ORDERS}\n{order(1)}\n")
    drop(landing, "Robert'); DROP TABLE raw.erp__orders;--", "orders.csv", f"{BYOD}\nC1,O1,2026-10-01,5\n")
    drop(landing, "erp", 'orders".csv', f"{ORDERS}\n{order(1)}\n")
    load_system_night(con, landing, "erp", NIGHT)
    load_system_night(con, landing, "Robert'); DROP TABLE raw.erp__orders;--", NIGHT)
    codes = sorted(code for _, _, code, _, _ in rejects(con))
    # erp/orders".csv -> entity 'orders"' is refused by name, the injection names too; nothing ran.
    assert codes == ["INVALID_NAME", "INVALID_NAME", "INVALID_NAME"]
    assert con.execute("select count(*) from raw.erp__orders").fetchone()[0] == 0
    assert_reconciled(con)


# --------------------------------------------------------------------------- SQL source (real PostgreSQL)


def pg(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture()
def pg_db(postgres_server) -> str:
    return postgres_server.create_database(f"torture_{uuid.uuid4().hex[:10]}")


def land_and_load_sql(con, dsn: str, table: str, entity: str, landing: Path, store: CursorStore, **options: Any):
    result = extract_table(dsn, table, system="erp", entity=entity, night=NIGHT, landing_dir=landing, cursors=store,
                           backoff_seconds=0.05, **options)
    load = load_system_night(con, landing, "erp", NIGHT)
    assert_reconciled(con)
    assert_reload_adds_nothing(con, landing, "erp")
    return result, load


def test_sql_awkward_names_values_null_vs_empty(con, pg_db: str, tmp_path: Path) -> None:
    pg(pg_db,
       'create table "Order Lines" ("Order ID" text, "select" text, "we""ird" text, "Amount €" numeric, '
       '"note" text, "updated_at" timestamptz)',
       """insert into "Order Lines" values
          ('O1', 'a,b', 'q"uote', -12.50, E'line1\\nline2, with comma', '2026-10-01 10:00+00'),
          ('O2', '', null, 0, repeat('é', 300000), '1900-01-01 00:00+00'),
          ('O3', null, '', 1e20, E'tab\\there', '2999-12-31 23:59:59+00')""")
    store = CursorStore(tmp_path / "cursors.json")
    result, load = land_and_load_sql(con, pg_db, "Order Lines", "order_line_dump", tmp_path / "landing", store)
    assert result.rows == 3 and [r.status for r in load.results] == ["loaded"]
    rows = con.execute(
        'select "Order ID", "select", "we""ird", "Amount €", length(note), updated_at from raw.erp__order_line_dump'
        ' order by 1').fetchall()
    assert rows == [
        ("O1", "a,b", 'q"uote', "-12.50", 23, "2026-10-01 10:00:00+00"),
        ("O2", "", None, "0", 300000, "1900-01-01 00:00:00+00"),  # '' stays '', NULL stays NULL
        ("O3", None, "", "100000000000000000000", 8, "2999-12-31 23:59:59+00"),
    ]


def test_sql_columns_differing_only_in_case_give_a_clear_file_error(con, pg_db: str, tmp_path: Path) -> None:
    pg(pg_db, 'create table twins ("Id" text, id text, updated_at timestamptz)',
       "insert into twins values ('A', 'a', '2026-10-01 10:00+00')")
    store = CursorStore(tmp_path / "cursors.json")
    _, load = land_and_load_sql(con, pg_db, "twins", "twins", tmp_path / "landing", store)
    assert [r.status for r in load.results] == ["rejected_file"]
    assert "differ only in case" in load.results[0].message
    # The fix is on the extract side: choose columns explicitly.
    store2 = CursorStore(tmp_path / "cursors2.json")
    other = extract_table(pg_db, "twins", system="erp", entity="twins_ok", night=NIGHT, landing_dir=tmp_path / "l2",
                          cursors=store2, columns=["id", "updated_at"])
    assert other.rows == 1


def test_sql_injection_through_the_table_name_runs_nothing(pg_db: str, tmp_path: Path) -> None:
    pg(pg_db, "create table victims (id int, updated_at timestamptz)")
    with pytest.raises(CrmwhError, match="table not found") as caught:
        extract_table(pg_db, "victims; drop table victims; --", system="erp", entity="victims", night=NIGHT,
                      landing_dir=tmp_path, cursors=CursorStore(tmp_path / "c.json"), backoff_seconds=0.01)
    assert "\n" not in str(caught.value)
    with psycopg.connect(pg_db) as conn:
        assert conn.execute("select count(*) from victims").fetchone() == (0,)


def test_sql_connection_dropped_mid_read_is_retried_and_lands_each_row_once(con, pg_db: str, tmp_path: Path) -> None:
    """Deterministic ``pg_terminate_backend`` in the middle of the COPY, once: the row function of a
    view kills its own backend at row 1500 while a 'kill-switch' session exists, and kills that
    session first, so the retry reads through."""
    total = 3000
    pg(pg_db,
       "create table big (id int, payload text, updated_at timestamptz)",
       f"insert into big select g, md5(g::text), timestamptz '2026-10-01' + g * interval '1 second'"
       f" from generate_series(1, {total}) g",
       """create function trip(i int, v text) returns text language plpgsql volatile as $$
          declare victim int;
          begin
            if i = 1500 and current_query() ilike 'copy%' then
              select pid into victim from pg_stat_activity where application_name = 'kill-switch' limit 1;
              if victim is not null then
                perform pg_terminate_backend(victim);
                perform pg_terminate_backend(pg_backend_pid());
                perform pg_sleep(5);
              end if;
            end if;
            return v;
          end $$""",
       "create view flaky as select id, trip(id, payload) as payload, updated_at from big")
    switch = psycopg.connect(pg_db, autocommit=True, application_name="kill-switch")
    try:
        store = CursorStore(tmp_path / "cursors.json")
        result, load = land_and_load_sql(con, pg_db, "flaky", "flaky", tmp_path / "landing", store)
    finally:
        switch.close()
    assert result.attempts >= 2 and result.rows == total
    assert [r.rows_loaded for r in load.results] == [total]
    assert con.execute("select count(*), count(distinct id) from raw.erp__flaky").fetchone() == (total, total)


# --------------------------------------------------------------------------- HTTP source (real local API)


class PagedApi(ApiServer):
    """Serves fixed pages (bodies) in order; ``?p=N`` follows. Failure knobs of ApiServer still apply."""

    def __init__(self, pages: list[Any]) -> None:
        super().__init__({})
        self.pages = pages

    def respond(self, raw_path: str) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(raw_path)
            if self._failures:
                status = self._failures.pop(0)
                return status, {"error": f"injected {status}"}
        number = int(dict(p.split("=") for p in raw_path.split("?", 1)[1].split("&")).get("p", 0))
        body = self.pages[number]
        if isinstance(body, dict) and number + 1 < len(self.pages):
            body = {**body, "next": f"/tickets?p={number + 1}"}
        return 200, body


def land_and_load_http(con, api: ApiServer, landing: Path, store: CursorStore):
    result = extract_api(api.base_url, system="helpdesk", entity="tickets", night=NIGHT, landing_dir=landing,
                         cursors=store, backoff_seconds=0.01, retries=3)
    files = night_files(landing, "helpdesk", NIGHT) if (landing / "helpdesk" / NIGHT.isoformat()).is_dir() else []
    results = load_files(con, files, landing) if files else []
    assert_reconciled(con)
    if files:
        assert_reload_adds_nothing(con, landing, "helpdesk")
        for landed in files:
            assert_every_physical_record_accounted(con, landed.path, "jsonl")
    return result, results


def test_http_empty_pages_land_nothing_and_lose_nothing(con, tmp_path: Path) -> None:
    pages = [{"data": []}, {"data": [ticket(1), ticket(2)]}, {"data": []}, {"data": [ticket(3)]}, {"data": []}]
    with PagedApi(pages) as api:
        result, results = land_and_load_http(con, api, tmp_path / "landing", CursorStore(tmp_path / "c.json"))
    assert result.rows == 3 and len(result.paths) == 2
    assert [(r.rows_in, r.rows_loaded) for r in results] == [(2, 2), (1, 1)]


def test_http_500_then_recovers_loads_each_record_once(con, tmp_path: Path) -> None:
    with PagedApi([{"data": [ticket(1)]}, {"data": [ticket(2)]}]) as api:
        api.fail_next(2, 500)
        result, results = land_and_load_http(con, api, tmp_path / "landing", CursorStore(tmp_path / "c.json"))
    assert result.rows == 2 and result.attempts == 4
    assert con.execute("select ticket_id from raw.helpdesk__tickets order by 1").fetchall() == [("T1",), ("T2",)]


def test_http_invalid_json_page_is_a_one_line_error_and_lands_nothing(con, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    store = CursorStore(tmp_path / "c.json")
    with PagedApi([{"data": [ticket(1)]}, b'{"data": [{"ticket_id": "T2",']) as api:
        with pytest.raises(CrmwhError, match="not JSON") as caught:
            land_and_load_http(con, api, landing, store)
    assert "\n" not in str(caught.value)
    assert not (landing / "helpdesk").exists() and store.get("helpdesk", "tickets") is None


def test_http_records_that_are_not_objects_fail_clearly(con, tmp_path: Path) -> None:
    with PagedApi([{"data": [ticket(1), ["not", "an", "object"]]}]) as api:
        with pytest.raises(CrmwhError, match="record 2 is not a JSON object"):
            land_and_load_http(con, api, tmp_path / "landing", CursorStore(tmp_path / "c.json"))


def test_http_awkward_records_land_and_load(con, tmp_path: Path) -> None:
    """Lone surrogates, nested values, case drift, a huge value and new fields between pages.

    A lone surrogate (``"\\ud800"``) used to crash the extractor (UnicodeEncodeError writing
    UTF-8); it now lands escaped and the loader quarantines that one record (DuckDB's JSON
    parser rejects lone surrogates), so the rest of the page loads."""
    pages = [
        {"data": [ticket(1, subject="\ud800 broken surrogate"), ticket(2, tags={"x": [1, None]}, subject="é" * 200_000)]},
        {"data": [{("Priority" if k == "priority" else k): v for k, v in ticket(3).items()}, ticket(4, renamed_field="r")]},
    ]
    with PagedApi(pages) as api:
        result, results = land_and_load_http(con, api, tmp_path / "landing", CursorStore(tmp_path / "c.json"))
    assert result.rows == 4
    assert [(r.rows_loaded, r.rows_quarantined) for r in results] == [(1, 1), (2, 0)]
    (line, _, code, _, raw_record), = rejects(con)
    assert (line, code) == (1, "MALFORMED_JSON") and "\\ud800" in raw_record
    rows = con.execute("select ticket_id, priority, tags, renamed_field, length(subject) from raw.helpdesk__tickets"
                       " order by 1").fetchall()
    assert [r[:4] for r in rows] == [("T2", "low", '{"x":[1,null]}', None),
                                     ("T3", "low", None, None), ("T4", "low", None, "r")]
    assert rows[0][4] == 200_000
