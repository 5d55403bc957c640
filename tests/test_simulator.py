"""The simulated source systems: contract shapes, increments, determinism, dirt and ground truth."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from crmwh.errors import CrmwhError
from crmwh.simulator import DIRT_KINDS, generate
from ingestion.contracts import all_systems

NIGHTS = 4
START = date(2026, 11, 1)
SYSTEMS = ("crm", "erp", "helpdesk", "callcenter")


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("dirty")
    messages: list[str] = []
    result = generate("xs", NIGHTS, out, seed=7, dirty_share=0.05, progress=messages.append)
    assert sum(m.startswith("night ") for m in messages) == NIGHTS
    return out, result


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("clean")
    return out, generate("xs", NIGHTS, out, seed=7, dirty_share=0.0)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _night_dir(out: Path, system: str, night: int) -> Path:
    return out / system / (START + timedelta(days=night - 1)).isoformat()


def _read(path: Path) -> list[dict]:
    """Records of a clean file of any of the three formats."""
    con = duckdb.connect()
    if path.suffix == ".parquet":
        rel = con.sql(f"select * from read_parquet('{path}')")
    elif path.suffix == ".jsonl":
        rel = con.sql(f"select * from read_json('{path}', format='newline_delimited', records=true, maximum_object_size=100000000)")
    else:
        rel = con.sql(f"select * from read_csv('{path}', header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
                      f"all_varchar=true, columns={_varchar_columns(path)})")
    cols = rel.columns
    return [dict(zip(cols, row)) for row in rel.fetchall()]


def _varchar_columns(path: Path) -> str:
    header = path.read_text(encoding="utf-8").splitlines()[0]
    names = [h.strip('"') for h in header.split(",")]
    return "{" + ", ".join(f"'{n}': 'varchar'" for n in names) + "}"


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path, clean):
    out, _ = clean
    again = tmp_path / "again"
    generate("xs", NIGHTS, again, seed=7, dirty_share=0.0)
    assert _digest(out) == _digest(again)
    other = tmp_path / "other"
    generate("xs", NIGHTS, other, seed=8, dirty_share=0.0)
    first = _digest(out)
    second = _digest(other)
    assert first.keys() & second.keys()
    assert sum(first[k] != second.get(k) for k in first) > len(first) // 2


def test_night_one_has_every_contracted_entity_with_contract_columns(clean):
    out, result = clean
    systems = all_systems()
    for system in SYSTEMS:
        for name, entity in systems[system].entities.items():
            folder = _night_dir(out, system, 1)
            if entity.format == "parquet":
                files = [folder / f"{name}.parquet"]
                columns = pq.read_schema(files[0]).names
            elif entity.format == "jsonl":
                files = sorted(folder.glob(f"{name}.page-*.jsonl"))
                columns = list(json.loads(files[0].read_text(encoding="utf-8").splitlines()[0]))
            else:
                files = [folder / f"{name}.csv"]
                columns = [h.strip('"') for h in files[0].read_text(encoding="utf-8").splitlines()[0].split(",")]
            assert files and all(f.exists() for f in files), (system, name)
            assert columns == entity.column_names, (system, name)
            assert result.rows(system, name, 1) > 0, (system, name)


def test_jsonl_pages_hold_at_most_page_size_records(tmp_path):
    out = tmp_path / "paged"
    generate("xs", 1, out, seed=3, dirty_share=0.0, page_size=200)
    pages = sorted((out / "crm" / START.isoformat()).glob("leads.page-*.jsonl"))
    assert len(pages) > 1
    assert [p.name for p in pages][:2] == ["leads.page-0001.jsonl", "leads.page-0002.jsonl"]
    assert all(len(p.read_text(encoding="utf-8").splitlines()) <= 200 for p in pages)


def test_later_nights_are_incremental_and_stamped_within_their_night(clean):
    out, result = clean
    first = sum(c["rows"] for c in result.counts if c["night"] == 1)
    for night in range(2, NIGHTS + 1):
        rows = sum(c["rows"] for c in result.counts if c["night"] == night)
        assert 0 < rows < first / 10
        day_start = datetime.combine(START + timedelta(days=night - 1), datetime.min.time(), tzinfo=timezone.utc)
        for system in SYSTEMS:
            for path in _night_dir(out, system, night).glob("*.*"):
                for record in _read(path):
                    stamp = record["updated_at"]
                    if not isinstance(stamp, datetime):
                        stamp = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
                    assert day_start <= stamp < day_start + timedelta(days=1), (path, stamp)


def test_clean_run_has_no_dirt_and_every_csv_line_parses(clean):
    out, result = clean
    assert pq.read_table(out / "_truth" / "dirt.parquet").num_rows == 0
    con = duckdb.connect()
    for path in out.glob("*/*/*.csv"):
        loaded = con.execute(f"select count(*) from (select * from read_csv('{path}', header=true, auto_detect=false, delim=',', quote='\"', "
                             f"escape='\"', columns={_varchar_columns(path)}, store_rejects=true))").fetchone()[0]
        assert loaded == len(path.read_bytes().splitlines()) - 1, path
    for path in out.glob("*/*/*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line)


def test_dirty_run_lists_every_kind_and_the_listed_csv_lines_really_fail(dirty):
    out, result = dirty
    dirt = pq.read_table(out / "_truth" / "dirt.parquet").to_pylist()
    assert {d["kind"] for d in dirt} == set(DIRT_KINDS)
    malformed = [d for d in dirt if d["kind"] == "malformed_line" and d["file"].endswith(".csv")]
    assert malformed
    by_file: dict[str, set[int]] = {}
    for d in malformed:
        by_file.setdefault(d["file"], set()).add(d["line_or_record"])
    for file, lines in by_file.items():
        path = out / file
        con = duckdb.connect()
        con.execute(f"select * from read_csv('{path}', header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
                    f"columns={_varchar_columns(path)}, store_rejects=true)").fetchall()
        rejected = {row[0] for row in con.execute("select line from reject_errors").fetchall()}
        assert lines == rejected, file
    truncated = [d for d in dirt if d["kind"] == "malformed_line" and d["file"].endswith(".jsonl")]
    assert truncated
    for d in truncated[:20]:
        line = (out / d["file"]).read_text(encoding="utf-8").splitlines()[d["line_or_record"] - 1]
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
    orphans = [d for d in dirt if d["kind"] == "orphan_reference" and d["entity"] == "orders"]
    customers = set()
    for night in range(1, NIGHTS + 1):
        path = _night_dir(out, "erp", night) / "customers.csv"
        if path.exists():
            customers |= {r.get("customer_id") for r in _read_tolerant(path)}
    for d in orphans:
        assert d["detail"].split("=")[1].split()[0] not in customers
    late = [d for d in dirt if d["kind"] == "late_arriving"]
    assert all(d["night"] > 1 for d in late)


def _read_tolerant(path: Path) -> list[dict]:
    con = duckdb.connect()
    rel = con.sql(f"select * from read_csv('{path}', header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
                  f"columns={_varchar_columns(path)}, store_rejects=true)")
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def test_schema_drift_appears_from_its_night(dirty):
    out, _ = dirty
    seen_tickets = False
    for night in range(1, NIGHTS + 1):
        for page in _night_dir(out, "helpdesk", night).glob("tickets.page-*.jsonl"):
            keys = set(json.loads(page.read_text(encoding="utf-8").splitlines()[0]))
            if night >= 3:
                assert "priority_level" in keys and "priority" not in keys
                seen_tickets = True
            else:
                assert "priority" in keys and "priority_level" not in keys
        customers = _night_dir(out, "erp", night) / "customers.csv"
        if customers.exists():
            header = customers.read_text(encoding="utf-8").splitlines()[0]
            assert ("phone_number" in header and "segment" in header) == (night >= 3)
    assert seen_tickets


def test_identity_truth_covers_every_delivered_identity(clean):
    out, _ = clean
    truth = pq.read_table(out / "_truth" / "identities.parquet").to_pylist()
    known = {(t["system"], t["entity"], t["source_id"]) for t in truth}
    assert all(t["party_id"] for t in truth)
    assert all(t["person_id"] for t in truth if t["entity"] in ("contacts", "requesters", "leads"))
    keys = {("crm", "accounts"): "account_id", ("crm", "contacts"): "contact_id", ("crm", "leads"): "lead_id",
            ("erp", "customers"): "customer_id", ("helpdesk", "requesters"): "requester_id"}
    for (system, entity), key in keys.items():
        for night in range(1, NIGHTS + 1):
            for path in _night_dir(out, system, night).glob(f"{entity}.*"):
                for record in _read(path):
                    assert (system, entity, record[key]) in known, (system, entity, record[key])
    # the same party shows up in several systems under different ids
    parties_by_system: dict[str, set[str]] = {}
    for t in truth:
        parties_by_system.setdefault(t["system"], set()).add(t["party_id"])
    assert len(parties_by_system["crm"] & parties_by_system["erp"] & parties_by_system["helpdesk"]) > 20


def test_behavioural_signals_exist(clean):
    out, _ = clean
    night1 = START.isoformat()
    con = duckdb.connect()
    con.execute(f"create view orders as select * from read_csv('{out}/erp/{night1}/orders.csv', header=true, all_varchar=true)")
    per_customer = con.execute("select count(*) filter (where n = 1), count(*) filter (where n >= 3) "
                               "from (select customer_id, count(*) n from orders group by 1)").fetchone()
    assert per_customer[0] > 20 and per_customer[1] > 20  # one-time and repeat buyers
    con.execute(f"create view events as select * from read_json('{out}/helpdesk/{night1}/ticket_events.page-*.jsonl')")
    multi = con.execute("select count(*) from (select ticket_id from events where department is not null "
                        "group by 1 having count(distinct department) >= 3)").fetchone()[0]
    assert multi > 10
    touch = con.execute("select sum(touch_minutes) / 60 / 24, (max(occurred_at::timestamp) - min(occurred_at::timestamp)) "
                        "from events group by ticket_id having count(*) > 6 limit 1").fetchone()
    assert touch is not None
    con.execute(f"create view consents as select * from read_json('{out}/crm/{night1}/consents.page-*.jsonl')")
    con.execute(f"create view members as select * from read_json('{out}/crm/{night1}/campaign_members.page-*.jsonl')")
    violations = con.execute(
        "select count(*) from members m join consents c on c.contact_id = m.contact_id and c.status = 'opt_out' "
        "and c.channel = m.channel and m.sent_at::timestamp > c.effective_at::timestamp").fetchone()[0]
    assert violations > 0
    con.execute(f"create view interactions as select * from read_json('{out}/crm/{night1}/interactions.page-*.jsonl')")
    unanswered, promised = con.execute(
        "select count(*) filter (where requires_response and responded_at is null), count(*) filter (where commitment is not null) "
        "from interactions").fetchone()
    assert unanswered > 0 and promised > 0
    accounts = con.execute(f"select count(*) filter (where referred_by_account_id is not null) from read_json('{out}/crm/{night1}/accounts.page-*.jsonl')").fetchone()[0]
    assert accounts > 5
    regs = con.execute(f"select count(*) filter (where confirmation_sent_at is null) from read_json('{out}/crm/{night1}/event_registrations.page-*.jsonl')").fetchone()[0]
    assert regs > 0
    resigned = con.execute(f"select count(*) from read_csv('{out}/erp/{night1}/employees.csv', header=true, all_varchar=true) where terminated_at is not null").fetchone()[0]
    assert resigned > 0
    trade = con.execute(f"select count(*) from read_json('{out}/crm/{night1}/leads.page-*.jsonl') where lead_source = 'trade_show'").fetchone()[0]
    assert trade > 20
    dispersion = con.execute(
        f"select count(*) from (select q.customer_id, l.product_id from read_csv('{out}/erp/{night1}/quotes.csv', header=true, all_varchar=true) q "
        f"join read_csv('{out}/erp/{night1}/quote_lines.csv', header=true, all_varchar=true) l using (quote_id) "
        "group by all having count(distinct q.employee_id) > 1 and count(distinct l.unit_price) > 1)").fetchone()[0]
    assert dispersion > 0
    ftf = con.execute(f"select count(distinct technician_id) from read_json('{out}/helpdesk/{night1}/field_visits.page-*.jsonl') where is_first_time_fix").fetchone()[0]
    assert ftf >= 2


def test_bad_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(CrmwhError, match="unknown scale"):
        generate("xxl", 1, tmp_path)
    with pytest.raises(CrmwhError, match="nights"):
        generate("xs", 0, tmp_path)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> tuple[Path, object]:
    """xs forced into 4 shards of 250 parties (scale l is sharded the same way by default)."""
    out = tmp_path_factory.mktemp("sharded")
    messages: list[str] = []
    result = generate("xs", 2, out, seed=7, dirty_share=0.0, shard_size=300, progress=messages.append)
    assert sum(m.startswith("shard ") for m in messages) == 4
    return out, result


def _csv_union(out: Path, entity: str) -> list[dict]:
    rows = []
    for path in sorted(out.glob(f"erp/*/{entity}.*csv")):
        rows += _read(path)
    return rows


def test_sharded_run_writes_reference_once_and_one_file_per_shard(sharded):
    from ingestion.landing import night_files

    out, result = sharded
    night1 = out / "erp" / START.isoformat()
    assert [p.name for p in night1.glob("products*")] == ["products.csv"]
    assert [p.name for p in night1.glob("employees*")] == ["employees.csv"]
    assert sorted(p.name for p in night1.glob("orders*")) == [f"orders.part-000{k}.csv" for k in (1, 2, 3, 4)]
    assert sorted(p.name for p in (out / "crm" / START.isoformat()).glob("leads*"))[0] == "leads.part-0001.page-0001.jsonl"
    assert {f.entity for f in night_files(out, "erp", START) if f.path.name.startswith("order")} == {"orders", "order_lines"}
    assert result.rows("erp", "orders", 1) == sum(len(_read(p)) for p in night1.glob("orders.*.csv"))


def test_sharded_ids_are_disjoint_and_references_resolve(sharded):
    out, _ = sharded
    customers = _csv_union(out, "customers")
    customer_ids = {r["customer_id"] for r in customers}
    first_versions = {(r["customer_id"], r["created_at"]) for r in customers}
    assert len(first_versions) == len(customer_ids)  # one customer id is never two different records
    orders = _csv_union(out, "orders")
    order_shards = {r["order_id"]: r["order_id"][2:4] for r in orders}
    assert len(set(order_shards.values())) == 4  # every shard's tag shows up
    assert all(r["customer_id"] in customer_ids for r in orders)
    employees = {r["employee_id"] for r in _csv_union(out, "employees")}
    assert all(r["employee_id"] in employees for r in orders if r["employee_id"])
    requesters, tickets = set(), []
    for night in (1, 2):
        for path in _night_dir(out, "helpdesk", night).glob("requesters.*.jsonl"):
            requesters |= {r["requester_id"] for r in _read(path)}
        for path in _night_dir(out, "helpdesk", night).glob("tickets.*.jsonl"):
            tickets += _read(path)
    assert tickets and all(t["requester_id"] in requesters for t in tickets)
    truth = pq.read_table(out / "_truth" / "identities.parquet").to_pylist()
    by_id = {(t["entity"], t["source_id"]): t["party_id"] for t in truth}
    assert len(by_id) == len(truth)
    assert all(("customers", c) in by_id for c in customer_ids)
    # parties are numbered globally: each party's customer ids all come from one shard
    shards_of_party: dict[str, set[str]] = {}
    for (entity, source_id), party in by_id.items():
        if entity == "customers":
            shards_of_party.setdefault(party, set()).add(source_id[1:3])
    assert len(shards_of_party) > 400 and all(len(s) == 1 for s in shards_of_party.values())


def test_sharded_dirty_run_lists_its_defects_in_existing_files(tmp_path):
    out = tmp_path / "dirty_sharded"
    result = generate("xs", 1, out, seed=5, dirty_share=0.05, shard_size=500)
    dirt = pq.read_table(out / "_truth" / "dirt.parquet").to_pylist()
    assert result.dirt_rows == len(dirt) > 0
    assert {d["kind"] for d in dirt} >= {"duplicate", "orphan_reference", "malformed_line"}
    assert all((out / d["file"]).is_file() for d in dirt)
    assert any(".part-0002." in d["file"] for d in dirt)
