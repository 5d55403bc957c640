"""The SQL source kind against a real PostgreSQL server (tests/support/postgres_server.py)."""

from __future__ import annotations

import csv
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest

from crmwh.errors import CrmwhError
from ingestion.sources.cursors import CursorStore
from ingestion.sources.postgres import extract_table

NIGHT1, NIGHT2, NIGHT3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)


@pytest.fixture
def db(postgres_server) -> str:
    """A fresh database per test, so tests never see each other's tables."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def store(tmp_path: Path) -> CursorStore:
    return CursorStore(tmp_path / "state" / "cursors.json")


def run(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


CONTACTS = """
create table contacts (id int primary key, name text, email text, updated_at timestamptz);
insert into contacts values
  (1, 'Ann, "the first"', 'ann@example.com', '2026-11-19 10:00:00+00'),
  (2, E'Bob\\nSmith', null, '2026-11-19 11:00:00+00'),
  (3, 'Cy', '', '2026-11-19 12:00:00.123456+00');
"""


def test_initial_incremental_and_idle_runs(db: str, store: CursorStore, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    run(db, CONTACTS)
    common = dict(system="crm", entity="contacts", landing_dir=landing, cursors=store)

    first = extract_table(db, "contacts", night=NIGHT1, **common)
    assert first.rows == 3
    assert first.path == landing / "crm" / "2026-11-20" / "contacts.csv"
    rows = read_csv(first.path)
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0]) == ["id", "name", "email", "updated_at"]
    assert rows[0]["name"] == 'Ann, "the first"' and rows[1]["name"] == "Bob\nSmith"
    assert first.cursor == "2026-11-19 12:00:00.123456+00"
    assert store.get("crm", "contacts") == first.cursor
    assert first.previous_cursor is None and first.attempts == 1
    assert first.locations[0].startswith('select "id", "name", "email", "updated_at" from "contacts"')

    run(
        db,
        "insert into contacts values (4, 'Dee', 'dee@example.com', '2026-11-20 09:00:00+00'),"
        " (5, 'Eve', null, '2026-11-20 09:30:00+00')",
        "update contacts set email = 'bob@example.com', updated_at = '2026-11-20 08:00:00+00' where id = 2",
    )
    second = extract_table(db, "contacts", night=NIGHT2, **common)
    assert second.rows == 3
    assert [(r["id"], r["email"]) for r in read_csv(second.path)] == [
        ("2", "bob@example.com"), ("4", "dee@example.com"), ("5", ""),
    ]
    assert second.previous_cursor == first.cursor
    assert second.cursor == "2026-11-20 09:30:00+00" == store.get("crm", "contacts")

    third = extract_table(db, "contacts", night=NIGHT3, **common)
    assert third.rows == 0 and third.paths == [] and third.path is None
    assert third.cursor == second.cursor == store.get("crm", "contacts")
    assert not (landing / "crm" / "2026-11-22").exists(), "an idle run lands no file"
    assert not (landing / ".crmwh-staging").exists(), "staging is cleaned up"


def test_rerun_in_same_night_adds_a_batch_file(db: str, store: CursorStore, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    run(db, CONTACTS)
    common = dict(system="crm", entity="contacts", night=NIGHT1, landing_dir=landing, cursors=store)
    first = extract_table(db, "contacts", **common)
    before = first.path.read_bytes()
    run(db, "insert into contacts values (9, 'Late', null, '2026-11-20 01:00:00+00')")
    second = extract_table(db, "contacts", **common)
    assert second.path.name == "contacts.batch-0002.csv"
    assert [r["id"] for r in read_csv(second.path)] == ["9"]
    assert first.path.read_bytes() == before, "an earlier batch of the night is never overwritten"


def test_columns_cursor_column_and_schema_qualified_table(db: str, store: CursorStore, tmp_path: Path) -> None:
    run(
        db,
        "create schema sales",
        "create table sales.orders (order_id bigint, amount numeric(10,2), version int, secret text)",
        "insert into sales.orders values (1, 10.50, 1, 'x'), (2, 20, 2, 'y')",
    )
    result = extract_table(
        db, "sales.orders", system="erp", entity="orders", night=NIGHT1, landing_dir=tmp_path,
        cursors=store, cursor_column="version", columns=["order_id", "amount"],
    )
    assert read_csv(result.path) == [{"order_id": "1", "amount": "10.50"}, {"order_id": "2", "amount": "20.00"}]
    assert result.cursor == "2"
    run(db, "insert into sales.orders values (3, 5, 3, 'z')")
    again = extract_table(
        db, ("sales", "orders"), system="erp", entity="orders", night=NIGHT2, landing_dir=tmp_path,
        cursors=store, cursor_column="version", columns=["order_id", "amount"],
    )
    assert again.rows == 1 and again.cursor == "3"


def test_names_are_quoted_never_executed(db: str, store: CursorStore, tmp_path: Path) -> None:
    run(db, CONTACTS, 'create table "odd""; name" ("we""ird;col" int, updated_at timestamptz)',
        """insert into "odd""; name" values (7, '2026-11-19 00:00:00+00')""")
    common = dict(system="crm", entity="contacts", night=NIGHT1, landing_dir=tmp_path, cursors=store)
    attacks = [
        dict(table='contacts"; drop table contacts; --'),
        dict(table="contacts; drop table contacts"),
        dict(table="contacts", columns=['id" from contacts; drop table contacts; --']),
        dict(table="contacts", cursor_column="updated_at; drop table contacts"),
    ]
    for attack in attacks:
        with pytest.raises(CrmwhError) as caught:
            extract_table(db, **attack, **common)
        assert "\n" not in str(caught.value) and "postgres source crm/contacts" in str(caught.value)
    with psycopg.connect(db) as conn:
        assert conn.execute("select count(*) from contacts").fetchone() == (3,)
    assert store.get("crm", "contacts") is None
    assert not (tmp_path / "crm").exists()

    # A real table whose name holds a quote and a semicolon is read like any other.
    odd = extract_table(db, 'odd"; name', system="crm", entity="odd", night=NIGHT1, landing_dir=tmp_path, cursors=store)
    assert read_csv(odd.path) == [{'we"ird;col': "7", "updated_at": "2026-11-19 00:00:00+00"}]


def test_settle_window_leaves_recent_rows_for_the_next_run(db: str, store: CursorStore, tmp_path: Path) -> None:
    run(
        db,
        "create table events (id int, updated_at timestamptz)",
        "insert into events values (1, now() - interval '2 hours'), (2, now() - interval '1 minute'), (3, now())",
    )
    result = extract_table(
        db, "events", system="crm", entity="events", night=NIGHT1, landing_dir=tmp_path, cursors=store,
        settle_seconds=600,
    )
    assert [r["id"] for r in read_csv(result.path)] == ["1"]
    # A late commit stamped inside the window is still ahead of the cursor: not lost.
    run(db, "insert into events values (4, now() - interval '5 minutes')")
    later = extract_table(db, "events", system="crm", entity="events", night=NIGHT2, landing_dir=tmp_path, cursors=store)
    assert sorted(r["id"] for r in read_csv(later.path)) == ["2", "3", "4"]


def test_connection_killed_mid_read_is_retried(db: str, store: CursorStore, tmp_path: Path) -> None:
    total = 400_000
    run(
        db,
        "create table big (id int, payload text, updated_at timestamptz)",
        f"insert into big select g, repeat(md5(g::text), 2), timestamptz '2026-11-01' + g * interval '1 second'"
        f" from generate_series(1, {total}) g",
    )
    landing = tmp_path / "landing"
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 60
        with psycopg.connect(db, autocommit=True) as conn:
            while time.monotonic() < deadline:
                staged = [p for p in (landing / ".crmwh-staging").glob("*/big.csv") if p.stat().st_size > 1_000_000]
                if staged:
                    row = conn.execute(
                        "select pid from pg_stat_activity where application_name = 'crmwh-extract crm/big'"
                        " and state = 'active' and query ilike 'copy%'"
                    ).fetchone()
                    if row:
                        conn.execute("select pg_terminate_backend(%s)", [row[0]])
                        killed.append(row[0])
                        return
                time.sleep(0.002)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = extract_table(
        db, "big", system="crm", entity="big", night=NIGHT1, landing_dir=landing, cursors=store,
        backoff_seconds=0.05,
    )
    thread.join(timeout=60)
    assert killed, "the copy was not caught in flight; the test table is too small for this machine"
    assert result.attempts == 2
    assert result.rows == total
    with open(result.path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["id", "payload", "updated_at"]
        ids = [int(row[0]) for row in reader if len(row) == 3]
    assert len(ids) == total and len(set(ids)) == total and ids == sorted(ids)
    assert result.path.read_bytes().endswith(b"\n")
    assert sum(1 for _ in open(result.path, "rb")) == total + 1, "no partial or extra lines"
    assert list((landing / "crm" / "2026-11-20").iterdir()) == [result.path]
    assert not (landing / ".crmwh-staging").exists()
    assert result.cursor == "2026-11-05 15:06:40+00"


def test_unreachable_server_fails_after_retries_without_leaking_the_dsn(store: CursorStore, tmp_path: Path) -> None:
    from support.postgres_server import free_port

    dsn = f"host=127.0.0.1 port={free_port()} user=crmwh password=s3cret dbname=crm connect_timeout=2"
    started = time.monotonic()
    with pytest.raises(CrmwhError) as caught:
        extract_table(dsn, "contacts", system="crm", entity="contacts", night=NIGHT1, landing_dir=tmp_path,
                      cursors=store, retries=2, backoff_seconds=0.05)
    message = str(caught.value)
    assert time.monotonic() - started >= 0.05 + 0.1
    assert "\n" not in message and "s3cret" not in message
    assert message.startswith("postgres source crm/contacts (table 'contacts' on 127.0.0.1:")
    assert "after 3 attempts" in message and "re-run" in message
    assert store.get("crm", "contacts") is None and not (tmp_path / "crm").exists()


def test_server_restart_mid_read_recovers(store: CursorStore, tmp_path: Path) -> None:
    """Stop-the-server flavour, on a private server so the session's shared one is never restarted."""
    try:
        from support.postgres_server import PostgresServer
    except ImportError:
        from tests.support.postgres_server import PostgresServer

    total = 400_000
    landing = tmp_path / "landing"
    with PostgresServer() as server:
        run(
            server.dsn,
            "create table big (id int, payload text, updated_at timestamptz)",
            f"insert into big select g, repeat(md5(g::text), 2), timestamptz '2026-11-01' + g * interval '1 second'"
            f" from generate_series(1, {total}) g",
        )
        restarted: list[bool] = []

        def restart_when_reading() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if [p for p in (landing / ".crmwh-staging").glob("*/big.csv") if p.stat().st_size > 1_000_000]:
                    server.restart()
                    restarted.append(True)
                    return
                time.sleep(0.002)

        thread = threading.Thread(target=restart_when_reading, daemon=True)
        thread.start()
        result = extract_table(server.dsn, "big", system="crm", entity="big", night=NIGHT1, landing_dir=landing,
                               cursors=store, backoff_seconds=0.3)
        thread.join(timeout=60)
    assert restarted and result.attempts >= 2
    assert result.rows == total
    assert sum(1 for _ in open(result.path, "rb")) == total + 1


def test_missing_table_and_bad_cursor_fail_at_once(db: str, store: CursorStore, tmp_path: Path) -> None:
    run(db, CONTACTS)
    common = dict(system="crm", entity="contacts", night=NIGHT1, landing_dir=tmp_path, cursors=store, backoff_seconds=5)
    started = time.monotonic()
    with pytest.raises(CrmwhError, match="table not found"):
        extract_table(db, "contact", **common)
    store.set("crm", "contacts", "not a timestamp")
    with pytest.raises(CrmwhError, match="stored cursor 'not a timestamp' does not compare"):
        extract_table(db, "contacts", **common)
    assert time.monotonic() - started < 5, "permanent errors are not retried"


def test_cursor_store_round_trip_and_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "cursors.json"
    store = CursorStore(path)
    assert store.get("crm", "contacts") is None
    store.set("crm", "contacts", "2026-11-20 00:00:00+00")
    store.set("erp", "orders", "17")
    assert CursorStore(path).all() == {"crm/contacts": "2026-11-20 00:00:00+00", "erp/orders": "17"}
    store.set("erp", "orders", None)
    assert CursorStore(path).all() == {"crm/contacts": "2026-11-20 00:00:00+00"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cursors.json", "cursors.json.lock"], "no temp files left"
    path.write_text("{not json")
    with pytest.raises(CrmwhError, match="cursor file .* is not valid JSON.*delete it"):
        store.get("crm", "contacts")


def test_parallel_cursor_writers_lose_nothing(tmp_path: Path) -> None:
    store = CursorStore(tmp_path / "cursors.json")
    threads = [threading.Thread(target=store.set, args=("crm", f"e{i}", str(i))) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.all()) == 20
