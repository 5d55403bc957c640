"""``crmwh generate``: write the simulated source systems' nightly extracts and the ground truth.

Night 1 is the initial export (every record's state as of the end of the start
day, with ``history_days`` of history); every later night carries only the
records new or changed that day. Defects are injected per night and entity at
``dirty_share`` and every one is listed in ``_truth/dirt.parquet``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crmwh.errors import CrmwhError
from crmwh.simulator.common import SCALES, Clock, rng_for
from crmwh.simulator.world import build_world, build_world_from
from crmwh.simulator import shards as sharding
from crmwh.simulator import writers
from ingestion.contracts import all_systems

DEFAULT_START = date(2026, 11, 1)
DEFAULT_PAGE_SIZE = 5000
DEFAULT_DRIFT_NIGHT = 3
SIMULATED_SYSTEMS = ("crm", "erp", "helpdesk", "callcenter")
# schema drift from DRIFT_NIGHT on: renamed columns and added columns (taken from hidden world columns)
DRIFT_RENAMES = {("erp", "customers"): {"phone": "phone_number"}, ("helpdesk", "tickets"): {"priority": "priority_level"}}
DRIFT_ADDS = {("erp", "customers"): {"segment": "_segment"}, ("crm", "contacts"): {"preferred_language": "_language"}}
# which reference column an orphan points nowhere from
ORPHANS = {("erp", "orders"): ("customer_id", "C9"), ("erp", "payments"): ("customer_id", "C9"),
           ("helpdesk", "tickets"): ("requester_id", "U9"), ("erp", "order_lines"): ("order_id", "SO9")}
DIRT_KINDS = ("malformed_line", "wrong_type", "duplicate", "late_arriving", "out_of_order", "orphan_reference", "schema_drift")
IDENTITY_ENTITIES = [("crm", "accounts"), ("crm", "contacts"), ("crm", "leads"), ("erp", "customers"),
                     ("helpdesk", "requesters"), ("callcenter", "calls"), ("crm", "web_visits")]
IDENTITY_KEY = {("crm", "web_visits"): "visitor_id"}


@dataclass
class GenerateResult:
    """What was written: rows per night, system and entity, and where."""

    out_dir: Path
    start: date
    nights: int
    counts: list[dict] = field(default_factory=list)  # night, date, system, entity, rows, files
    dirt_rows: int = 0
    identity_rows: int = 0

    def rows(self, system: str, entity: str, night: int | None = None) -> int:
        return sum(c["rows"] for c in self.counts
                   if c["system"] == system and c["entity"] == entity and (night is None or c["night"] == night))

    @property
    def total_rows(self) -> int:
        return sum(c["rows"] for c in self.counts)


def generate(scale: str, nights: int, out_dir: Path, start: date | None = None, seed: int = 42,
             dirty_share: float = 0.02, history_days: int = 730, progress: Callable[[str], None] | None = None,
             page_size: int = DEFAULT_PAGE_SIZE, drift_night: int = DEFAULT_DRIFT_NIGHT,
             shard_size: int | None = None) -> GenerateResult:
    """Write ``nights`` nights of extracts for crm, erp, helpdesk and callcenter into ``out_dir``.

    Populations larger than ``shard_size`` parties (default ``shards.SHARD_SIZE``) are simulated in
    shards one after the other, so memory stays bounded (see ``crmwh.simulator.shards``).
    """
    if scale not in SCALES:
        raise CrmwhError(f"unknown scale {scale!r}: use one of {', '.join(SCALES)}")
    if nights < 1:
        raise CrmwhError(f"--nights must be at least 1, got {nights}")
    if not 0.0 <= dirty_share <= 0.3:
        raise CrmwhError(f"--dirty must be between 0 and 0.3, got {dirty_share}")
    if history_days < 30:
        raise CrmwhError(f"history must be at least 30 days, got {history_days}")
    shard_size = sharding.SHARD_SIZE if shard_size is None else shard_size
    if shard_size < 1:
        raise CrmwhError(f"shard size must be at least 1 party, got {shard_size}")
    say = progress or (lambda _msg: None)
    start = start or DEFAULT_START
    out_dir = Path(out_dir)
    clock = Clock(start, history_days, nights)
    say(f"simulating {SCALES[scale]:,} parties ({scale}), {history_days} days of history and {nights} night(s)")
    if SCALES[scale] > shard_size:
        return _generate_sharded(SCALES[scale], shard_size, clock, out_dir, seed, dirty_share, page_size, drift_night, say)
    world, _ctx = build_world(scale, seed, clock)
    contracts = all_systems()
    result = GenerateResult(out_dir, start, nights)
    _clean(out_dir, clock)
    dirt: list[dict] = []
    # decide late deliveries once per entity, so each night can be cut independently
    prepared = {}
    for system in SIMULATED_SYSTEMS:
        for entity in contracts[system].entities:
            prepared[(system, entity)] = _prepare(world.pop((system, entity)), clock, seed, dirty_share, system, entity)
    for night in range(1, nights + 1):
        night_day = clock.start_day + night - 1
        night_date = clock.night_date(night).isoformat()
        rows_tonight = 0
        for system in SIMULATED_SYSTEMS:
            for entity, contract in contracts[system].entities.items():
                table, day, deliver = prepared[(system, entity)]
                rows, files = _write_night(system, entity, contract, table, day, deliver, night, night_day, clock, out_dir,
                                           seed, dirty_share, page_size, drift_night, dirt)
                if files:
                    result.counts.append({"night": night, "date": night_date, "system": system, "entity": entity,
                                          "rows": rows, "files": files})
                    rows_tonight += rows
        say(f"night {night}/{nights} ({night_date}): {rows_tonight:,} records")
    truth = out_dir / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    identities = _identities(world, prepared, _ctx)
    pq.write_table(identities, truth / "identities.parquet")
    dirt_table = _dirt_table(dirt)
    pq.write_table(dirt_table, truth / "dirt.parquet")
    result.dirt_rows, result.identity_rows = dirt_table.num_rows, identities.num_rows
    say(f"wrote {result.total_rows:,} records, {dirt_table.num_rows:,} injected defects, truth in {truth}")
    return result


def _prepare(table: pa.Table, clock: Clock, seed: int, dirty_share: float, system: str, entity: str,
             keys: tuple = ()) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Versions up to the last night, their change day and delivery day (late arrivals decided once per entity)."""
    t = table.column("_t").to_numpy()
    day = np.floor(t).astype(np.int64)
    keep = day <= clock.last_day
    table, day = table.filter(pa.array(keep)), day[keep]
    deliver = day.copy()
    if dirty_share > 0 and clock.nights > 1:
        rng = rng_for(seed, "late", system, entity, *keys)
        cand = (day >= clock.start_day) & (day < clock.last_day)
        late = cand & (rng.random(day.size) < dirty_share / 6)
        if cand.any() and not late.any():
            late[rng.choice(np.flatnonzero(cand))] = True  # every entity shows the defect at least once
        deliver = np.where(late, np.minimum(day + rng.integers(1, 4, day.size), clock.last_day), day)
    return table, day, deliver


def _dirt_table(dirt: list[dict]) -> pa.Table:
    return pa.table({
        "night": pa.array([d["night"] for d in dirt], pa.int32()),
        "system": pa.array([d["system"] for d in dirt], pa.string()),
        "entity": pa.array([d["entity"] for d in dirt], pa.string()),
        "file": pa.array([d["file"] for d in dirt], pa.string()),
        "line_or_record": pa.array([d["line"] for d in dirt], pa.int64()),
        "kind": pa.array([d["kind"] for d in dirt], pa.string()),
        "detail": pa.array([d["detail"] for d in dirt], pa.string()),
    })


IDENTITY_SCHEMA = pa.schema([("system", pa.string()), ("entity", pa.string()), ("source_id", pa.string()),
                             ("party_id", pa.string()), ("party_type", pa.string()), ("person_id", pa.string())])


def _generate_sharded(n_parties: int, shard_size: int, clock: Clock, out_dir: Path, seed: int, dirty_share: float,
                      page_size: int, drift_night: int, say: Callable[[str], None]) -> GenerateResult:
    """Like ``generate``, one shard of parties at a time: shared reference data first, then each shard's files.

    Each shard writes its own file per night and entity (``orders.part-0003.csv``,
    ``leads.part-0003.page-0001.jsonl``), and its truth rows are appended to the
    ``_truth`` Parquet files before the shard is freed.
    """
    plan = sharding.plan_shards(n_parties, shard_size, seed)
    say(f"{len(plan)} shards of up to {shard_size:,} parties, written one after the other")
    contracts = all_systems()
    result = GenerateResult(out_dir, clock.start, clock.nights)
    _clean(out_dir, clock)
    truth = out_dir / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    counts: dict[tuple[int, str, str], list[int]] = {}
    dirt_writer = pq.ParquetWriter(truth / "dirt.parquet", _dirt_table([]).schema)
    identity_writer = pq.ParquetWriter(truth / "identities.parquet", IDENTITY_SCHEMA)
    try:
        staff, products = sharding.build_shared(seed, n_parties, clock)
        reference = {("erp", name): table for name, table in sharding.reference_tables(seed, clock, staff, products).items()}
        dirt: list[dict] = []
        _write_all_nights(reference, contracts, clock, out_dir, seed, dirty_share, page_size, drift_night, dirt, counts)
        result.dirt_rows += len(dirt)
        dirt_writer.write_table(_dirt_table(dirt))
        del reference
        for shard in plan:
            ctx = sharding.shard_ctx(shard, clock, staff, products)
            world = build_world_from(ctx)
            for name in sharding.REFERENCE_ENTITIES:
                del world[("erp", name)]  # written once above
            dirt = []
            prepared = _write_all_nights(world, contracts, clock, out_dir, seed, dirty_share, page_size, drift_night,
                                         dirt, counts, shard)
            identities = _identities(None, prepared, ctx).cast(IDENTITY_SCHEMA)
            identity_writer.write_table(identities)
            dirt_writer.write_table(_dirt_table(dirt))
            result.identity_rows += identities.num_rows
            result.dirt_rows += len(dirt)
            del world, prepared, ctx, identities, dirt
            rows = sum(v[0] for (_n, _s, _e), v in counts.items())
            say(f"shard {shard.index + 1}/{shard.count} ({shard.n_parties:,} parties) written: {rows:,} records so far")
    finally:
        dirt_writer.close()
        identity_writer.close()
    for night in range(1, clock.nights + 1):
        night_date = clock.night_date(night).isoformat()
        rows_tonight = 0
        for system in SIMULATED_SYSTEMS:
            for entity in contracts[system].entities:
                if (night, system, entity) in counts:
                    rows, files = counts[(night, system, entity)]
                    result.counts.append({"night": night, "date": night_date, "system": system, "entity": entity,
                                          "rows": rows, "files": files})
                    rows_tonight += rows
        say(f"night {night}/{clock.nights} ({night_date}): {rows_tonight:,} records")
    say(f"wrote {result.total_rows:,} records, {result.dirt_rows:,} injected defects, truth in {truth}")
    return result


def _write_all_nights(world: dict, contracts: dict, clock: Clock, out_dir: Path, seed: int, dirty_share: float,
                      page_size: int, drift_night: int, dirt: list, counts: dict,
                      shard: sharding.Shard | None = None) -> dict:
    """Write every night of the entities in ``world`` (emptied on the way); returns the prepared tables."""
    keys = () if shard is None else ("shard", shard.index)
    part = "" if shard is None else shard.part
    prepared = {}
    for system in SIMULATED_SYSTEMS:
        for entity in contracts[system].entities:
            if (system, entity) in world:
                table, day, deliver = _prepare(world.pop((system, entity)), clock, seed, dirty_share, system, entity, keys)
                if shard is not None:
                    table = sharding.tag_ids(table, shard.tag)
                prepared[(system, entity)] = (table, day, deliver)
    for night in range(1, clock.nights + 1):
        night_day = clock.start_day + night - 1
        for system in SIMULATED_SYSTEMS:
            for entity, contract in contracts[system].entities.items():
                if (system, entity) not in prepared:
                    continue
                table, day, deliver = prepared[(system, entity)]
                rows, files = _write_night(system, entity, contract, table, day, deliver, night, night_day, clock, out_dir,
                                           seed, dirty_share, page_size, drift_night, dirt, part, keys)
                if files:
                    total = counts.setdefault((night, system, entity), [0, 0])
                    total[0] += rows
                    total[1] += files
    return prepared


def _clean(out_dir: Path, clock: Clock) -> None:
    """Remove the folders this run writes, so stale pages of an earlier run cannot linger."""
    for system in SIMULATED_SYSTEMS:
        for night in range(1, clock.nights + 1):
            folder = out_dir / system / clock.night_date(night).isoformat()
            if folder.exists():
                shutil.rmtree(folder)
    if (out_dir / "_truth").exists():
        shutil.rmtree(out_dir / "_truth")


def _select(table: pa.Table, day: np.ndarray, deliver: np.ndarray, night: int, night_day: int) -> tuple[pa.Table, int]:
    """The records of one night: the latest version per key, then the late arrivals. Returns (table, late count)."""
    if night == 1:
        on_time = (deliver <= night_day)
    else:
        on_time = (deliver == night_day) & (day == night_day)
    late = (deliver == night_day) & (day < night_day) & (night > 1)
    idx = np.flatnonzero(on_time)
    pk = table.column("_pk").to_numpy()[idx]
    t = table.column("_t").to_numpy()[idx]
    order = np.lexsort((t, pk))
    idx, pk = idx[order], pk[order]
    last = np.ones(idx.size, dtype=bool)
    last[:-1] = pk[1:] != pk[:-1]
    idx = idx[last]
    idx = idx[np.argsort(table.column("_t").to_numpy()[idx], kind="stable")]  # exports come in cursor order
    late_idx = np.flatnonzero(late)
    return table.take(pa.array(np.concatenate([idx, late_idx]).astype(np.int64))), late_idx.size


def _count(rng: np.random.Generator, n: int, share: float, night: int) -> int:
    k = int(rng.binomial(n, share)) if n else 0
    if night == 1 and n >= 30 and share > 0:
        k = max(k, 1)  # every kind shows up in the initial export
    return min(k, n)


def _write_night(system, entity, contract, table, day, deliver, night, night_day, clock, out_dir, seed,
                 dirty_share, page_size, drift_night, dirt, part: str = "", keys: tuple = ()) -> tuple[int, int]:
    sel, n_late = _select(table, day, deliver, night, night_day)
    n = sel.num_rows
    if n == 0 and (night > 1 or keys):
        return 0, 0
    fmt = contract.format
    rng = rng_for(seed, "dirt", system, entity, night, *keys)
    per_kind = dirty_share / 5 if dirty_share > 0 else 0.0
    records: list[tuple[int, str, str]] = []  # (row position before insertions, kind, detail)
    for r in range(sel.num_rows - n_late, sel.num_rows):
        records.append((r, "late_arriving", "older updated_at delivered on a later night"))
    # duplicates and out-of-order older versions are inserted right after their original
    n_dup = _count(rng, n, per_kind, night)
    n_ooo = _count(rng, n, per_kind, night)
    dup_rows = rng.choice(n, n_dup, replace=False) if n_dup else np.zeros(0, np.int64)
    ooo_rows = rng.choice(n, n_ooo, replace=False) if n_ooo else np.zeros(0, np.int64)
    base = np.arange(n)
    src = np.concatenate([base, ooo_rows, dup_rows])
    tag = np.concatenate([np.zeros(n, int), np.ones(ooo_rows.size, int), np.full(dup_rows.size, 2)])
    order = np.lexsort((tag, src))
    src, tag = src[order], tag[order]
    out = sel.take(pa.array(src.astype(np.int64)))
    final_pos = np.arange(src.size)
    if ooo_rows.size:
        upd = out.column("updated_at").to_numpy().astype(np.float64).copy()
        older = tag == 1
        upd[older] -= rng.uniform(1, 12, older.sum()) / 24
        out = out.set_column(out.column_names.index("updated_at"), "updated_at", pa.array(upd))
    for pos in final_pos[tag == 1]:
        records.append((int(pos), "out_of_order", "an older version of the record follows the newer one"))
    for pos in final_pos[tag == 2]:
        records.append((int(pos), "duplicate", "exact copy of the previous record"))
    # positions of original rows after insertion (late rows keep their order at the end)
    orig_pos = final_pos[tag == 0]
    records = [(int(orig_pos[r]), k, d) if k == "late_arriving" else (r, k, d) for r, k, d in records]
    m = out.num_rows
    # orphan references
    if (system, entity) in ORPHANS and per_kind > 0:
        col, prefix = ORPHANS[(system, entity)]
        k = _count(rng, m, per_kind, night)
        rows = np.sort(rng.choice(m, k, replace=False)) if k else np.zeros(0, int)
        values = np.asarray(out.column(col).to_numpy(zero_copy_only=False), dtype=object).copy()
        for r in rows:  # loop over the few defects only
            values[r] = f"{prefix}{rng.integers(10_000_000, 99_999_999)}"
            records.append((int(r), "orphan_reference", f"{col}={values[r]} does not exist"))
        out = out.set_column(out.column_names.index(col), col, pa.array(values, pa.string()))
    types = {c.name: c.type for c in contract.columns}
    hidden = {c: out.column(c) for c in out.column_names if c.startswith("_")}
    visible = out.select([c for c in contract.column_names])
    formatted = writers.format_table(visible, types, clock, system, fmt)
    drift = dirty_share > 0 and night >= drift_night
    if drift:
        for new_name, hidden_name in DRIFT_ADDS.get((system, entity), {}).items():
            formatted = formatted.append_column(new_name, pc.cast(hidden[hidden_name], pa.string()))
        renames = DRIFT_RENAMES.get((system, entity), {})
        formatted = formatted.rename_columns([renames.get(c, c) for c in formatted.column_names])
    # wrong types and malformed lines (text formats only)
    wrong_rows = np.zeros(0, int)
    bad_rows = np.zeros(0, int)
    wrong_col = None
    if fmt in ("csv", "jsonl") and per_kind > 0:
        wrong_col = next((c.name for c in contract.columns if c.type.startswith("numeric") or c.type in ("double", "date")), None)
        if wrong_col is None:
            wrong_col = next((c.name for c in contract.columns if c.type == "timestamp" and not c.required), None)
        if wrong_col is not None:
            wrong_rows = np.sort(rng.choice(m, _count(rng, m, per_kind, night), replace=False))
        bad_rows = np.sort(rng.choice(m, _count(rng, m, per_kind, night), replace=False))
    rel_dir = Path(system) / clock.night_date(night).isoformat()
    (out_dir / rel_dir).mkdir(parents=True, exist_ok=True)
    files = 0
    written: list[str] = []
    if fmt == "csv":
        if wrong_rows.size:
            values = np.asarray(formatted.column(wrong_col).to_numpy(zero_copy_only=False), dtype=object).copy()
            is_num = types[wrong_col].startswith("numeric") or types[wrong_col] == "double"
            for r in wrong_rows:
                values[r] = _wrong_value(values[r], is_num)
                records.append((int(r), "wrong_type", f"{wrong_col}={values[r]!s}"))
            formatted = formatted.set_column(formatted.column_names.index(wrong_col), wrong_col, pa.array(values, pa.string()))
        data = writers.csv_bytes(formatted)
        data = _malform_csv(data, bad_rows, rng, records, line_offset=1)
        name = f"{entity}{part}.csv"
        (out_dir / rel_dir / name).write_bytes(data)
        written.append(name)
        _log(dirt, records, night, system, entity, str(rel_dir / name), lambda r: r + 2)
        files = 1
    elif fmt == "jsonl":
        for page, (lo, hi, data) in enumerate(writers.jsonl_pages(formatted, page_size)):
            page_records = [(r - lo, k, d) for r, k, d in records if lo <= r < hi]
            repl: dict[int, bytes] = {}
            offs = writers.line_offsets(data) if data else np.zeros(1, np.int64)
            field_name = wrong_col if not (drift and wrong_col in DRIFT_RENAMES.get((system, entity), {})) else DRIFT_RENAMES[(system, entity)][wrong_col]
            is_num = wrong_col is not None and (types[wrong_col].startswith("numeric") or types[wrong_col] == "double")
            for r in wrong_rows[(wrong_rows >= lo) & (wrong_rows < hi)] - lo:
                line = writers.get_line(data, offs, int(r))
                value = _wrong_value(json.loads(line).get(field_name), is_num)
                repl[int(r)] = writers.json_with(line, field_name, value)
                page_records.append((int(r), "wrong_type", f"{wrong_col}={value}"))
            for r in bad_rows[(bad_rows >= lo) & (bad_rows < hi)] - lo:
                line = repl.get(int(r), writers.get_line(data, offs, int(r)))
                repl[int(r)] = line[: max(1, len(line) // 2)]
                page_records.append((int(r), "malformed_line", "truncated JSON record"))
            data = writers.splice_lines(data, repl)
            name = f"{entity}{part}.page-{page + 1:04d}.jsonl"
            (out_dir / rel_dir / name).write_bytes(data)
            written.append(name)
            _log(dirt, page_records, night, system, entity, str(rel_dir / name), lambda r: r + 1)
            files += 1
    else:
        name = f"{entity}{part}.parquet"
        (out_dir / rel_dir / name).write_bytes(writers.parquet_bytes(formatted))
        written.append(name)
        _log(dirt, records, night, system, entity, str(rel_dir / name), lambda r: r + 1)
        files = 1
    if drift and ((system, entity) in DRIFT_RENAMES or (system, entity) in DRIFT_ADDS):
        changes = [f"renamed {a} to {b}" for a, b in DRIFT_RENAMES.get((system, entity), {}).items()]
        changes += [f"added {a}" for a in DRIFT_ADDS.get((system, entity), {})]
        for name in written:
            dirt.append({"night": night, "system": system, "entity": entity, "file": str(rel_dir / name),
                         "line": None, "kind": "schema_drift", "detail": "; ".join(changes)})
    return m, files


def _wrong_value(value: object, is_numeric: bool) -> str:
    if is_numeric and value not in (None, ""):
        return f"{float(value):.2f}".replace(".", ",")
    return "N/A"


def _malform_csv(data: bytes, rows: np.ndarray, rng: np.random.Generator, records: list, line_offset: int) -> bytes:
    """Break whole CSV lines: a stray quote, a column too many, a column too few."""
    if rows.size == 0:
        return data
    offs = writers.line_offsets(data)
    repl = {}
    for r in rows:  # loop over the few defects only
        line = writers.get_line(data, offs, int(r) + line_offset)
        kind = int(rng.integers(0, 3))
        if kind == 0:
            first, _, rest = line.partition(b",")
            second, sep, tail = rest.partition(b",")
            repl[int(r) + line_offset] = first + b',"' + second.strip(b'"') + b'"x' + sep + tail
            records.append((int(r), "malformed_line", "broken quoting"))
        elif kind == 1:
            repl[int(r) + line_offset] = line + b",unexpected"
            records.append((int(r), "malformed_line", "too many columns"))
        else:
            repl[int(r) + line_offset] = line[: line.rfind(b",")]
            records.append((int(r), "malformed_line", "too few columns"))
    return writers.splice_lines(data, repl)


def _log(dirt: list, records: list, night: int, system: str, entity: str, file: str, line_of: Callable[[int], int]) -> None:
    for r, kind, detail in records:
        dirt.append({"night": night, "system": system, "entity": entity, "file": file, "line": line_of(r),
                     "kind": kind, "detail": detail})


def _identities(world, prepared, ctx) -> pa.Table:
    """Every delivered source identity and the true party (and person) behind it."""
    parts = []
    p = ctx.parties
    for system, entity in IDENTITY_ENTITIES:
        table, _day, _deliver = prepared[(system, entity)]
        key = IDENTITY_KEY.get((system, entity), all_systems()[system].entities[entity].primary_key)
        party = table.column("_party").to_numpy()
        person = table.column("_person").to_numpy()
        ids_ = np.asarray(table.column(key).to_numpy(zero_copy_only=False), dtype=object)
        known = party >= 0
        _, first = np.unique(ids_[known].astype(str), return_index=True)
        rows = np.flatnonzero(known)[first]
        rows = rows[np.argsort(ids_[rows].astype(str), kind="stable")]
        parts.append(pa.table({
            "system": pa.array([system] * rows.size, pa.string()), "entity": pa.array([entity] * rows.size, pa.string()),
            "source_id": pa.array(ids_[rows], pa.string()),
            "party_id": p.party_id.take(pa.array(party[rows])),
            "party_type": pa.array(np.where(p.is_business[party[rows]], "company", "consumer").astype(object), pa.string()),
            "person_id": pa.array(np.where(person[rows] >= 0, np.asarray(ctx.persons.person_id.take(pa.array(np.maximum(person[rows], 0))), dtype=object), None), pa.string()),
        }))
    return pa.concat_tables(parts)


__all__ = ["GenerateResult", "generate", "DIRT_KINDS", "DEFAULT_START"]
