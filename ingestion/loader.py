"""Load one landed file into ``raw``, losing nothing.

Every record of a file ends up either in its raw table (all fields as
delivered text, plus load metadata) or in ``quarantine.load_rejects`` with the
line, field and reason. ``audit.load_ledger`` gets one row per file, and
``rows_in = rows_loaded + rows_quarantined`` is checked against what the
tables really received before the file's transaction commits.

A file is identified by its system, entity and content checksum: delivering
the same bytes again (a re-run, a redelivery) loads nothing new.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from crmwh.errors import CrmwhError
from ingestion.contracts import Entity, entity_contract
from ingestion.landing import NAME_PATTERN, LandedFile, read_source_note
from ingestion.warehouse import (
    RAW_METADATA_COLUMNS,
    ensure_raw_table,
    ensure_schemas,
    qualified,
    quote_ident,
    raw_table_name,
)

BINARY_SNIFF_BYTES = 8192


class ReconciliationError(CrmwhError):
    """Rows in a file do not add up to rows loaded plus rows quarantined."""


@dataclass(frozen=True)
class LoadResult:
    load_id: str
    system: str
    entity: str
    location: str
    status: str  # loaded, empty, rejected_file, already_loaded
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    message: str = ""
    raw_table: str | None = None


@dataclass(frozen=True)
class _Outcome:
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    status: str = "loaded"
    message: str = ""


class _FileRejected(Exception):
    """The file as a whole cannot be read as records (binary, bad header, not Parquet...)."""

    def __init__(self, reason_code: str, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class _Context:
    con: duckdb.DuckDBPyConnection
    landed: LandedFile
    location: str
    load_id: str
    raw_table: str
    contract: Entity | None
    loaded_at: datetime

    @property
    def metadata_params(self) -> list[object]:
        return [self.load_id, self.landed.system, self.location, self.landed.night, self.loaded_at]


def file_checksum(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def make_load_id(system: str, entity: str, checksum: str) -> str:
    return hashlib.sha256(f"{system}\x1f{entity}\x1f{checksum}".encode()).hexdigest()[:24]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --------------------------------------------------------------------------- quarantine helpers


def _quarantine_rows(ctx: _Context, select_sql: str, params: list[object] | None = None) -> int:
    """Insert rejects; ``select_sql`` yields (line, field, reason_code, reason, raw_record)."""
    row = ctx.con.execute(
        f"""
        insert into quarantine.load_rejects
        select ?, ?, ?, ?, ?, q.line, q.field, q.reason_code, q.reason, q.raw_record, ?
        from ({select_sql}) as q(line, field, reason_code, reason, raw_record)
        """,
        [ctx.load_id, ctx.landed.system, ctx.landed.entity, ctx.landed.night, ctx.location, ctx.loaded_at]
        + (params or []),
    ).fetchall()
    return int(row[0][0]) if row else 0


def _reject_whole_file(ctx: _Context, rejected: _FileRejected) -> _Outcome:
    """A file that cannot be split into records counts as one record, quarantined."""
    _quarantine_rows(
        ctx,
        "select null::bigint, ?, ?, ?, null::varchar",
        [rejected.field, rejected.reason_code, rejected.reason],
    )
    return _Outcome(rows_in=1, rows_loaded=0, rows_quarantined=1, status="rejected_file", message=rejected.reason)


def _missing_required(contract: Entity | None, fields: list[str]) -> list[str]:
    if contract is None:
        return []
    delivered = {contract.canonical_name(name) for name in fields}
    return [name for name in contract.required_columns if name not in delivered]


def _check_fields(fields: list[str]) -> None:
    seen: set[str] = set()
    for position, name in enumerate(fields, start=1):
        if not name.strip():
            raise _FileRejected("EMPTY_COLUMN_NAME", f"column {position} of the header has no name")
        if name in RAW_METADATA_COLUMNS:
            raise _FileRejected("RESERVED_COLUMN_NAME", f"column {name!r} is reserved for load metadata", name)
        if name in seen:
            raise _FileRejected("DUPLICATE_COLUMN_NAME", f"column {name!r} appears twice in the header", name)
        seen.add(name)


def _looks_binary(path: Path) -> bool:
    with path.open("rb") as handle:
        return b"\x00" in handle.read(BINARY_SNIFF_BYTES)


def _insert_raw(ctx: _Context, fields: list[str], select_sql: str, params: list[object]) -> int:
    """Insert delivered fields plus metadata; ``select_sql`` must yield record_number, row_hash and the fields."""
    ensure_raw_table(ctx.con, ctx.raw_table, fields)
    field_list = ", ".join(quote_ident(name) for name in fields)
    row = ctx.con.execute(
        f"""
        insert into {qualified(ctx.raw_table)} by name
        select ? as _load_id, ? as _source_system, ? as _source_file, s._record_number,
               ? as _night, ? as _loaded_at, s._row_hash, {", ".join("s." + quote_ident(f) for f in fields)}
        from ({select_sql}) as s(_record_number, _row_hash, {field_list})
        """,
        ctx.metadata_params + params,
    ).fetchall()
    return int(row[0][0]) if row else 0


# --------------------------------------------------------------------------- CSV


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte character cut at the read boundary
            first_line_end = head.find(b"\n")
            if first_line_end == -1 or exc.start < first_line_end:
                raise _FileRejected("INVALID_ENCODING", "the header line is not UTF-8 (re-export the file as UTF-8)") from None
        text = head[: exc.start].decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        header = []
    if not header:
        raise _FileRejected("NO_HEADER", "the file has no header line")
    return header


def _delimiter_hint(fields: list[str]) -> str:
    if len(fields) == 1:
        for delimiter in (";", "\t", "|"):
            if delimiter in fields[0]:
                return f" (the file looks {delimiter!r}-delimited; CSV files must use ',')"
    return ""


def _load_csv(ctx: _Context) -> _Outcome:
    fields = _csv_header(ctx.landed.path)
    _check_fields(fields)
    columns = "{" + ", ".join(f"{_sql_string(name)}: 'VARCHAR'" for name in fields) + "}"
    reader = (
        f"read_csv(?, columns = {columns}, header = true, auto_detect = false, delim = ',', quote = '\"',"
        " escape = '\"', strict_mode = true, store_rejects = true,"
        " rejects_table = 'crmwh_csv_rejects', rejects_scan = 'crmwh_csv_scans')"
    )
    path = str(ctx.landed.path)
    field_refs = ", ".join(quote_ident(name) for name in fields)
    # DuckDB appends to the rejects tables across scans of a connection: start each file empty.
    ctx.con.execute("drop table if exists crmwh_csv_rejects; drop table if exists crmwh_csv_scans")
    missing = _missing_required(ctx.contract, fields)
    if missing:
        # Keep every record, as delivered, in quarantine: the file breaks the contract.
        reason = f"required column(s) {', '.join(missing)} missing from the header{_delimiter_hint(fields)}"
        quarantined = _quarantine_rows(
            ctx,
            f"""select row_number() over () + 1, ?, 'MISSING_REQUIRED_COLUMN', ?,
                       to_json(struct_pack({", ".join(f"{quote_ident(f)} := {quote_ident(f)}" for f in fields)}))::varchar
                from {reader}""",
            [missing[0], reason, path],
        )
        loaded = 0
    else:
        loaded = _insert_raw(
            ctx,
            fields,
            f"select row_number() over (), md5(list_value({field_refs})::varchar), {field_refs} from {reader}",
            [path],
        )
        quarantined = 0
    quarantined += _quarantine_rows(
        ctx,
        """select line, min(column_name), min(error_type),
                  string_agg(error_message, '; ' order by error_message), min(csv_line)
           from crmwh_csv_rejects group by line order by line""",
    )
    message = "header only, no records" if loaded + quarantined == 0 else ""
    return _Outcome(rows_in=loaded + quarantined, rows_loaded=loaded, rows_quarantined=quarantined, message=message)


# --------------------------------------------------------------------------- JSON lines


def _lines_table(path: Path) -> pa.Table:
    """Split a file into lines without creating a Python object per line.

    Column ``text`` holds the lines as strings when the whole file is UTF-8 (the
    usual case, checked once in C); otherwise it is null and SQL decodes ``bytes``
    line by line, so only the bad lines are rejected.
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        is_utf8 = True
    except UnicodeDecodeError:
        is_utf8 = False
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(buffer == 10) + 1)).astype(np.int64)
    if starts[-1] == len(data):
        starts = starts[:-1]
    offsets = np.append(starts, len(data)).astype(np.int64)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    lines = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(starts), buffers)
    text = (pa.LargeStringArray.from_buffers(len(starts), buffers[1], buffers[2]) if is_utf8
            else pa.nulls(len(starts), pa.large_string()))
    return pa.table({"line_no": pa.array(np.arange(1, len(starts) + 1, dtype=np.int64)), "bytes": lines,
                     "text": text})


def _json_path(key: str) -> str:
    return _sql_string('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')


def _load_jsonl(ctx: _Context) -> _Outcome:
    con = ctx.con
    con.register("crmwh_jsonl_lines", _lines_table(ctx.landed.path))
    try:
        # One pass decodes and validates every line; the raw bytes stay in Arrow, read again
        # only for lines that are not UTF-8.
        con.execute(
            """
            create or replace temp table crmwh_jsonl as
            with decoded as (
                select line_no, rtrim(coalesce(text, try(decode(bytes))), chr(13) || chr(10)) as text
                from crmwh_jsonl_lines
            )
            select line_no, text,
                   case
                       when text is null then 'INVALID_ENCODING'
                       when not json_valid(text) then 'MALFORMED_JSON'
                       when left(ltrim(text, ' ' || chr(9) || chr(13)), 1) <> '{' then 'NOT_AN_OBJECT'  -- valid JSON: '{' opens an object
                   end as error
            from decoded
            where text is null or trim(text, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)) <> ''
            """
        )
        quarantined = _quarantine_rows(
            ctx,
            """select j.line_no, null, j.error,
                      case j.error
                          when 'INVALID_ENCODING' then 'line is not valid UTF-8'
                          when 'MALFORMED_JSON' then 'line is not valid JSON'
                          else 'line is JSON but not an object'
                      end,
                      coalesce(j.text, l.bytes::varchar)
               from crmwh_jsonl as j join crmwh_jsonl_lines as l using (line_no)
               where j.error is not null order by j.line_no""",
        )
    finally:
        con.unregister("crmwh_jsonl_lines")
    fields = [
        row[0]
        for row in con.execute(
            """
            select key from (
                select unnest(json_keys(text)) as key, line_no from crmwh_jsonl where error is null
            ) group by key order by min(line_no), key
            """
        ).fetchall()
    ]
    missing = _missing_required(ctx.contract, fields) if fields else []
    if missing:
        reason = f"required field(s) {', '.join(missing)} absent from every record"
        quarantined += _quarantine_rows(
            ctx,
            "select line_no, ?, 'MISSING_REQUIRED_COLUMN', ?, text from crmwh_jsonl where error is null order by line_no",
            [missing[0], reason],
        )
        loaded = 0
    elif fields:
        _check_fields(fields)
        # One parse per line for all fields: extract a list of values, then index it.
        paths = ", ".join(_json_path(name) for name in fields)
        values = ", ".join(f"v[{position}]" for position in range(1, len(fields) + 1))
        loaded = _insert_raw(
            ctx,
            fields,
            f"""select line_no, md5(text), {values}
                from (select line_no, text, json_extract_string(text, [{paths}]) as v
                      from crmwh_jsonl where error is null)
                order by line_no""",
            [],
        )
    else:
        loaded = 0
    con.execute("drop table if exists crmwh_jsonl")
    message = "no records" if loaded + quarantined == 0 else ""
    return _Outcome(rows_in=loaded + quarantined, rows_loaded=loaded, rows_quarantined=quarantined, message=message)


def _count_nonblank_lines(ctx: _Context) -> int:
    """Independent count of a JSON-lines file's records, for reconciliation."""
    count = 0
    with ctx.landed.path.open("rb") as handle:
        for line in handle:
            if line.strip():
                count += 1
    return count


# --------------------------------------------------------------------------- Parquet


def _load_parquet(ctx: _Context) -> _Outcome:
    try:
        metadata = pq.read_metadata(ctx.landed.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _FileRejected("INVALID_PARQUET", f"not a readable Parquet file ({exc})") from None
    fields = list(metadata.schema.to_arrow_schema().names)
    _check_fields(fields)
    missing = _missing_required(ctx.contract, fields)
    path = str(ctx.landed.path)
    casts = ", ".join(f"cast({quote_ident(name)} as varchar)" for name in fields)
    if missing:
        reason = f"required column(s) {', '.join(missing)} missing from the file"
        quarantined = _quarantine_rows(
            ctx,
            "select file_row_number + 1, ?, 'MISSING_REQUIRED_COLUMN', ?, to_json(p)::varchar"
            " from read_parquet(?, file_row_number = true) as p",
            [missing[0], reason, path],
        )
        return _Outcome(rows_in=metadata.num_rows, rows_loaded=0, rows_quarantined=quarantined)
    loaded = _insert_raw(
        ctx,
        fields,
        f"select file_row_number + 1, md5(list_value({casts})::varchar), {casts}"
        " from read_parquet(?, file_row_number = true)",
        [path],
    )
    return _Outcome(rows_in=metadata.num_rows, rows_loaded=loaded, rows_quarantined=0)


_READERS = {"csv": _load_csv, "jsonl": _load_jsonl, "parquet": _load_parquet}


# --------------------------------------------------------------------------- ledger and reconciliation


def _already_loaded(con: duckdb.DuckDBPyConnection, load_id: str) -> bool:
    return con.execute("select count(*) from audit.load_ledger where load_id = ?", [load_id]).fetchall()[0][0] > 0


def _reconcile(ctx: _Context, outcome: _Outcome, independent_rows_in: int | None) -> None:
    in_raw = 0
    if outcome.rows_loaded or ctx.con.execute(
        "select count(*) from information_schema.tables where table_schema || '.' || table_name = ?",
        [ctx.raw_table],
    ).fetchall()[0][0]:
        in_raw = ctx.con.execute(
            f"select count(*) from {qualified(ctx.raw_table)} where _load_id = ?", [ctx.load_id]
        ).fetchall()[0][0]
    in_quarantine = ctx.con.execute(
        "select count(*) from quarantine.load_rejects where load_id = ?", [ctx.load_id]
    ).fetchall()[0][0]
    problems = []
    if outcome.rows_in != outcome.rows_loaded + outcome.rows_quarantined:
        problems.append(f"rows in {outcome.rows_in} != loaded {outcome.rows_loaded} + quarantined {outcome.rows_quarantined}")
    if in_raw != outcome.rows_loaded:
        problems.append(f"{ctx.raw_table} holds {in_raw} rows of this load, expected {outcome.rows_loaded}")
    if in_quarantine != outcome.rows_quarantined:
        problems.append(f"quarantine holds {in_quarantine} rows of this load, expected {outcome.rows_quarantined}")
    if independent_rows_in is not None and independent_rows_in != outcome.rows_in:
        problems.append(f"the file has {independent_rows_in} records but {outcome.rows_in} were accounted for")
    if problems:
        raise ReconciliationError(f"{ctx.location}: counts do not reconcile: {'; '.join(problems)}")


def _load_one(con: duckdb.DuckDBPyConnection, landed: LandedFile, landing_dir: Path) -> LoadResult:
    """Load one file inside the caller's transaction; the same bytes loaded before load nothing.

    The ledger's ``location`` is the query or URL for files an extractor landed, else the file.
    """
    source_kind, source_location = read_source_note(landed.path)
    location = landed.location(landing_dir)
    checksum, size = file_checksum(landed.path)
    load_id = make_load_id(landed.system, landed.entity, checksum)
    raw_table = raw_table_name(landed.system, landed.entity) if NAME_PATTERN.match(landed.entity) else ""
    if _already_loaded(con, load_id):
        return LoadResult(load_id, landed.system, landed.entity, location, "already_loaded", 0, 0, 0,
                          "same content was loaded before", raw_table or None)
    ctx = _Context(con, landed, location, load_id, raw_table, entity_contract(landed.system, landed.entity), _utcnow())
    started_at = ctx.loaded_at
    independent_rows_in: int | None = None
    if not NAME_PATTERN.match(landed.system) or not NAME_PATTERN.match(landed.entity):
        outcome = _reject_whole_file(ctx, _FileRejected(
            "INVALID_NAME",
            f"system and entity names must be lower-case letters, digits and '_' "
            f"(got system {landed.system!r}, entity {landed.entity!r}); rename the file or folder"))
    elif size == 0:
        outcome = _Outcome(0, 0, 0, status="empty", message="empty file (0 bytes)")
    elif landed.file_format is None:
        outcome = _reject_whole_file(ctx, _FileRejected(
            "UNSUPPORTED_FORMAT",
            f"{landed.path.suffix or 'no extension'} is not a supported format (use .csv, .jsonl or .parquet)"))
    elif landed.file_format != "parquet" and _looks_binary(landed.path):
        outcome = _reject_whole_file(ctx, _FileRejected(
            "BINARY_FILE", f"binary content in a .{landed.file_format} file (NUL bytes); expected text"))
    else:
        try:
            outcome = _READERS[landed.file_format](ctx)
            if landed.file_format == "jsonl":
                independent_rows_in = _count_nonblank_lines(ctx)
        except _FileRejected as rejected:
            outcome = _reject_whole_file(ctx, rejected)
    if outcome.status == "loaded" and outcome.rows_loaded == 0 and outcome.rows_quarantined == 0:
        outcome = _Outcome(0, 0, 0, status="empty", message=outcome.message or "no records")
    _reconcile(ctx, outcome, independent_rows_in)
    con.execute(
        "insert into audit.load_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [load_id, landed.system, landed.entity, landed.night, source_location or location, location,
         source_kind, landed.file_format, size, checksum, raw_table or None, outcome.rows_in, outcome.rows_loaded,
         outcome.rows_quarantined, outcome.status, outcome.message or None, started_at, _utcnow()],
    )
    return LoadResult(load_id, landed.system, landed.entity, location, outcome.status, outcome.rows_in,
                      outcome.rows_loaded, outcome.rows_quarantined, outcome.message, raw_table or None)


def load_files(con: duckdb.DuckDBPyConnection, files: list[LandedFile], landing_dir: Path) -> list[LoadResult]:
    """Load files (e.g. the pages of one entity) in one transaction: all of them, or none.

    Each file still gets its own ledger row and its own reconciliation; one
    transaction per batch instead of per page saves a WAL flush per page.
    """
    ensure_schemas(con)
    con.execute("begin transaction")
    try:
        results = [_load_one(con, landed, landing_dir) for landed in files]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results


def load_file(con: duckdb.DuckDBPyConnection, landed: LandedFile, landing_dir: Path) -> LoadResult:
    """Load one landed file in its own transaction."""
    return load_files(con, [landed], landing_dir)[0]
