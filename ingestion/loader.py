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
import os
import tempfile
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from crmwh.errors import CrmwhError
from ingestion.contracts import Entity, entity_contract
from ingestion.ahead import ordered_ahead
from ingestion.jsonl import ParsedJsonl, parse_jsonl
from ingestion.landing import NAME_PATTERN, UTF8_BOM, LandedFile, read_source_note
from ingestion.warehouse import (
    RAW_METADATA_COLUMNS,
    ensure_raw_table,
    ensure_schemas,
    qualified,
    quote_ident,
    raw_columns,
    raw_table_name,
    sql_string,
)

BINARY_SNIFF_BYTES = 8192
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


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
    parsed_jsonl: ParsedJsonl | None = None  # the file's lines, when parsed before its turn
    raw_columns: dict[str, set[str]] | None = None  # the batch's view of the raw tables' columns

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
    return contract.missing_required(fields) if contract else []


def _check_fields(fields: list[str]) -> None:
    """Warehouse column names compare case-insensitively: ``id`` and ``ID`` are the same column."""
    seen: dict[str, str] = {}
    reserved = {name.lower() for name in RAW_METADATA_COLUMNS}
    for position, name in enumerate(fields, start=1):
        if not name.strip():
            raise _FileRejected("EMPTY_COLUMN_NAME", f"column {position} of the header has no name")
        if name.lower() in reserved:
            raise _FileRejected("RESERVED_COLUMN_NAME", f"column {name!r} is reserved for load metadata", name)
        if name.lower() in seen:
            first = seen[name.lower()]
            reason = (f"column {name!r} appears twice in the header" if first == name else
                      f"columns {first!r} and {name!r} differ only in case (column names are case-insensitive)")
            raise _FileRejected("DUPLICATE_COLUMN_NAME", reason, name)
        seen[name.lower()] = name


def _starts_with(path: Path, prefixes: tuple[bytes, ...]) -> bool:
    with path.open("rb") as handle:
        return handle.read(4).startswith(prefixes)


def _looks_binary(path: Path) -> bool:
    with path.open("rb") as handle:
        return b"\x00" in handle.read(BINARY_SNIFF_BYTES)


def _insert_raw(ctx: _Context, fields: list[str], select_sql: str, params: list[object]) -> int:
    """Insert delivered fields plus metadata; ``select_sql`` must yield record_number, row_hash and the fields."""
    # A field delivered as ``Priority`` after ``priority`` is the same (case-insensitive) column:
    # add only names the table lacks, compared the way DuckDB compares them.
    known = ctx.raw_columns if ctx.raw_columns is not None else {}
    if ctx.raw_table not in known:
        known[ctx.raw_table] = raw_columns(ctx.con, ctx.raw_table).get(ctx.raw_table, set())
    existing = {name.lower(): name for name in known[ctx.raw_table]}
    if not existing or any(name.lower() not in existing for name in fields):
        ensure_raw_table(ctx.con, ctx.raw_table, [existing.get(name.lower(), name) for name in fields],
                         known[ctx.raw_table])
        known[ctx.raw_table] = raw_columns(ctx.con, ctx.raw_table)[ctx.raw_table]
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
    reader = csv.reader(io.StringIO(text, newline=None))  # universal newlines: CR-only files too
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


@dataclass(frozen=True)
class _CsvShape:
    line_endings: frozenset[str]  # of "crlf", "lf", "cr"
    quoted_newlines: bool  # a newline inside a quoted field (by quote parity)


def _csv_shape(path: Path) -> _CsvShape:
    """One streaming pass: which line endings end records, and whether any newline sits inside quotes.

    Why: DuckDB's strict CSV parser stops with "state machine reached an invalid state" on
    files whose records end in a mix of CRLF and LF (e.g. concatenated exports); a line break
    inside a quoted value (Excel puts LF in cells of CRLF files) is not a record end and does
    not count. A quoted newline is also where an unterminated quote can merge lines.
    Quote parity decides what is inside quotes (RFC 4180: an escaped quote is doubled).
    """
    counts = {"crlf": 0, "lf": 0, "cr": 0}
    quotes_odd = False
    quoted_newlines = False
    carry = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            buf = carry + chunk
            carry = b""
            if buf.endswith(b"\r"):
                carry, buf = b"\r", buf[:-1]
            if b'"' not in buf:  # fast path: no quote changes state in this chunk
                if quotes_odd:
                    quoted_newlines = quoted_newlines or b"\n" in buf or b"\r" in buf
                    continue
                if b"\r" not in buf:  # the usual case: LF only (two memchr scans)
                    counts["lf"] += b"\n" in buf
                    continue
                crlf = buf.count(b"\r\n")
                counts["crlf"] += crlf
                counts["lf"] += buf.count(b"\n") - crlf
                counts["cr"] += buf.count(b"\r") - crlf
                continue
            data = np.frombuffer(buf, dtype=np.uint8)
            quotes = np.flatnonzero(data == 34)
            newlines = np.flatnonzero(data == 10)
            returns = np.flatnonzero(data == 13)
            nl_outside = (np.searchsorted(quotes, newlines) + int(quotes_odd)) % 2 == 0
            cr_outside = (np.searchsorted(quotes, returns) + int(quotes_odd)) % 2 == 0
            quoted_newlines = quoted_newlines or not nl_outside.all() or not cr_outside.all()
            ends = newlines[nl_outside]
            after_cr = np.zeros(len(ends), dtype=bool)
            after_cr[ends > 0] = data[ends[ends > 0] - 1] == 13
            counts["crlf"] += int(after_cr.sum())
            counts["lf"] += int((~after_cr).sum())
            bare = returns[cr_outside]
            bare = bare[(bare + 1 >= len(data)) | (data[np.minimum(bare + 1, len(data) - 1)] != 10)]
            counts["cr"] += len(bare)
            quotes_odd = (len(quotes) + int(quotes_odd)) % 2 == 1
    if carry and not quotes_odd:
        counts["cr"] += 1
    return _CsvShape(frozenset(style for style, count in counts.items() if count), quoted_newlines)


def _normalised_copy(path: Path) -> Path:
    """A temporary copy with every CRLF and lone CR turned into LF (the caller deletes it)."""
    handle, name = tempfile.mkstemp(prefix="crmwh-csv-", suffix=".csv")
    with os.fdopen(handle, "wb") as out, path.open("rb") as source:
        carry = b""
        while chunk := source.read(1 << 22):
            buf = carry + chunk
            carry = b""
            if buf.endswith(b"\r"):
                carry, buf = b"\r", buf[:-1]
            out.write(buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        if carry:
            out.write(b"\n")
    return Path(name)


def _load_csv(ctx: _Context) -> _Outcome:
    shape = _csv_shape(ctx.landed.path)
    if len(shape.line_endings) > 1:
        # DuckDB's strict parser fails on the whole file otherwise; read a normalised copy.
        copy = _normalised_copy(ctx.landed.path)
        try:
            outcome = _load_csv_from(ctx, copy, shape)
        finally:
            copy.unlink(missing_ok=True)
        styles = "/".join(sorted(style.upper() for style in shape.line_endings))
        note = f"mixed line endings ({styles}) read as LF"
        return _Outcome(outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined, outcome.status,
                        "; ".join(filter(None, [outcome.message, note])))
    return _load_csv_from(ctx, ctx.landed.path, shape)


def _quarantine_merged_records(ctx: _Context, fields: list[str]) -> int:
    """Move loaded records whose quoted field swallowed what looks like whole records to quarantine.

    An unterminated quote makes a CSV reader read the following lines as part of one field;
    when a later quote closes it, the result is a valid but wrong record. A field holding a
    newline followed by a line with at least as many commas as the header has separators is
    taken for such a merge: the record is quarantined (nothing lost), not loaded.
    """
    if len(fields) < 3:
        return 0
    pattern = "\n([^\n,]*,){" + str(len(fields) - 1) + "}"
    table = qualified(ctx.raw_table)
    suspect = " or ".join(f"regexp_matches({quote_ident(f)}, ?)" for f in fields)
    which = "coalesce(" + ", ".join(
        f"case when regexp_matches({quote_ident(f)}, ?) then {sql_string(f)} end" for f in fields) + ")"
    record = "to_json(struct_pack(" + ", ".join(f"{quote_ident(f)} := {quote_ident(f)}" for f in fields) + "))::varchar"
    ctx.con.execute(
        f"""create or replace temp table crmwh_csv_merged as
            select _record_number, {which} as field, {record} as raw_record
            from {table} where _load_id = ? and ({suspect})""",
        [pattern] * len(fields) + [ctx.load_id] + [pattern] * len(fields),
    )
    moved = _quarantine_rows(
        ctx,
        """select null::bigint, field, 'SUSPECT_MERGED_LINES',
                  'record ' || _record_number || ': field ' || field || ' holds a line break followed by a'
                  || ' whole record''s worth of commas (an unterminated quote probably merged lines); fix the quoting',
                  raw_record
           from crmwh_csv_merged order by _record_number""",
    )
    if moved:
        ctx.con.execute(
            f"delete from {table} where _load_id = ? and _record_number in (select _record_number from crmwh_csv_merged)",
            [ctx.load_id],
        )
    ctx.con.execute("drop table if exists crmwh_csv_merged")
    return moved


def _load_csv_from(ctx: _Context, source: Path, shape: _CsvShape) -> _Outcome:
    fields = _csv_header(source)
    _check_fields(fields)
    columns = "{" + ", ".join(f"{sql_string(name)}: 'VARCHAR'" for name in fields) + "}"
    # allow_quoted_nulls = false: a quoted empty field ("") is an empty string, an unquoted one
    # is NULL, as PostgreSQL's COPY writes them; otherwise both would arrive as NULL.
    reader = (
        f"read_csv(?, columns = {columns}, header = true, auto_detect = false, delim = ',', quote = '\"',"
        " escape = '\"', strict_mode = true, allow_quoted_nulls = false, store_rejects = true,"
        " rejects_table = 'crmwh_csv_rejects', rejects_scan = 'crmwh_csv_scans')"
    )
    path = str(source)
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
        if loaded and shape.quoted_newlines:
            merged = _quarantine_merged_records(ctx, fields)
            loaded -= merged
            quarantined += merged
    # A record with an unterminated quote can run over many physical lines; say which, so
    # nobody looks for the swallowed lines elsewhere (they are in raw_record).
    quarantined += _quarantine_rows(
        ctx,
        """select line, min(column_name), min(error_type),
                  string_agg(error_message, '; ' order by error_message)
                  || case when max(spans) > 0
                          then '; the record runs over physical lines ' || line || '-' || (line + max(spans))
                               || ' (all kept here in raw_record)'
                          else '' end,
                  min(csv_line)
           from (select *, length(rtrim(csv_line, chr(13) || chr(10)))
                           - length(replace(rtrim(csv_line, chr(13) || chr(10)), chr(10), '')) as spans
                 from crmwh_csv_rejects)
           group by line order by line""",
    )
    message = "header only, no records" if loaded + quarantined == 0 else ""
    return _Outcome(rows_in=loaded + quarantined, rows_loaded=loaded, rows_quarantined=quarantined, message=message)


# --------------------------------------------------------------------------- JSON lines


def _load_jsonl(ctx: _Context) -> _Outcome:
    parsed = ctx.parsed_jsonl or parse_jsonl(ctx.landed.path, ctx.contract)
    if parsed.records is not None:
        _check_fields(parsed.fields)  # before anything is written: a rejected file leaves no rows
    quarantined = loaded = 0
    if parsed.rejects.num_rows:
        quarantined = _insert_arrow(ctx, "crmwh_jsonl_rejects", parsed.rejects, _quarantine_rows)
    if parsed.records is not None:
        loaded = _insert_arrow(ctx, "crmwh_jsonl_records", parsed.records,
                               lambda ctx, select_sql: _insert_raw(ctx, parsed.fields, select_sql, []))
    message = "no records" if loaded + quarantined == 0 else ""
    return _Outcome(rows_in=loaded + quarantined, rows_loaded=loaded, rows_quarantined=quarantined, message=message)


def _insert_arrow(ctx: _Context, name: str, table: pa.Table, insert: Callable[[_Context, str], int]) -> int:
    """Run ``insert`` on ``select * from name`` with the Arrow table registered under that name."""
    ctx.con.register(name, table)
    try:
        return insert(ctx, f"select * from {name}")
    finally:
        ctx.con.unregister(name)


def _count_nonblank_lines(path: Path) -> int:
    """Independent count of a JSON-lines file's records, for reconciliation."""
    count = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            if number == 0 and line.startswith(UTF8_BOM):
                line = line[len(UTF8_BOM):]
            if line.strip():
                count += 1
    return count


# --------------------------------------------------------------------------- Parquet


def _load_parquet(ctx: _Context) -> _Outcome:
    try:
        metadata = pq.read_metadata(ctx.landed.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _FileRejected("INVALID_PARQUET", f"not a readable Parquet file ({exc})") from None
    arrow_schema = metadata.schema.to_arrow_schema()
    fields = list(arrow_schema.names)
    _check_fields(fields)
    missing = _missing_required(ctx.contract, fields)
    path = str(ctx.landed.path)
    # Nested values (struct, list, map) are kept as JSON text, like nested values in JSON lines;
    # DuckDB's own rendering ({'a': 1}) is not JSON and quotes strings ambiguously.
    casts = ", ".join(
        f"to_json({quote_ident(field.name)})::varchar" if pa.types.is_nested(field.type)
        else f"cast({quote_ident(field.name)} as varchar)"
        for field in arrow_schema
    )
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


def _loaded_ids(con: duckdb.DuckDBPyConnection, entities: Iterable[str]) -> set[str]:
    """Load ids in the ledger for these entities (a load id is unique to its system, entity and bytes)."""
    return {load_id for load_id, in con.execute(
        "select load_id from audit.load_ledger where entity in (select unnest(?::varchar[]))", [sorted(entities)],
    ).fetchall()}


def count_rows_by_load(con: duckdb.DuckDBPyConnection,
                       loads: Iterable[tuple[str, str | None]]) -> dict[str, tuple[int, int]]:
    """Rows each ``(load_id, raw_table)`` load has in its raw table and in the quarantine.

    What the tables really hold, not what the ledger says. One grouped scan per table
    for all the loads: a count per load would rescan a raw table of millions of rows
    once per page of a large delivery.
    """
    ids_by_table: dict[str, list[str]] = {}
    load_ids: list[str] = []
    for load_id, raw_table in loads:
        load_ids.append(load_id)
        if raw_table:
            ids_by_table.setdefault(raw_table, []).append(load_id)
    if not load_ids:
        return {}
    existing = {name for (name,) in con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database()"
    ).fetchall()}
    in_raw: dict[str, int] = {}
    for raw_table, table_ids in ids_by_table.items():
        if raw_table in existing:
            in_raw.update(con.execute(
                f"select _load_id, count(*) from {qualified(raw_table)} "
                "where _load_id in (select unnest(?::varchar[])) group by _load_id", [table_ids],
            ).fetchall())
    in_quarantine = dict(con.execute(
        "select load_id, count(*) from quarantine.load_rejects "
        "where load_id in (select unnest(?::varchar[])) group by load_id", [load_ids],
    ).fetchall())
    return {load_id: (in_raw.get(load_id, 0), in_quarantine.get(load_id, 0)) for load_id in load_ids}


def _check_outcome(ctx: _Context, outcome: _Outcome, independent_rows_in: int | None) -> None:
    """The counts a load reports must add up, and match the file's own record count."""
    problems = []
    if outcome.rows_in != outcome.rows_loaded + outcome.rows_quarantined:
        problems.append(f"rows in {outcome.rows_in} != loaded {outcome.rows_loaded} + quarantined {outcome.rows_quarantined}")
    if independent_rows_in is not None and independent_rows_in != outcome.rows_in:
        problems.append(f"the file has {independent_rows_in} records but {outcome.rows_in} were accounted for")
    if problems:
        raise ReconciliationError(f"{ctx.location}: counts do not reconcile: {'; '.join(problems)}")


def table_count_mismatches(con: duckdb.DuckDBPyConnection,
                           loads: list[tuple[str, str, str | None, int, int]]) -> list[str]:
    """For ``(load_id, location, raw_table, rows_loaded, rows_quarantined)`` loads: where the raw
    tables or the quarantine do not hold exactly the rows a load reports, one line each."""
    held = count_rows_by_load(con, [(load_id, raw_table) for load_id, _, raw_table, _, _ in loads])
    problems = []
    for load_id, location, raw_table, rows_loaded, rows_quarantined in loads:
        in_raw, in_quarantine = held[load_id]
        if in_raw != rows_loaded:
            problems.append(f"{location}: {raw_table} holds {in_raw} rows of this load, expected {rows_loaded}")
        if in_quarantine != rows_quarantined:
            problems.append(f"{location}: quarantine holds {in_quarantine} rows of this load, "
                            f"expected {rows_quarantined}")
    return problems


def _check_tables_hold(con: duckdb.DuckDBPyConnection, results: list[LoadResult]) -> None:
    """The raw tables and the quarantine hold exactly the rows each load of the batch reports."""
    problems = table_count_mismatches(con, [
        (result.load_id, result.location, result.raw_table, result.rows_loaded, result.rows_quarantined)
        for result in results if result.status != "already_loaded"
    ])
    if problems:
        raise ReconciliationError(f"counts do not reconcile: {'; '.join(problems)}")


@dataclass(frozen=True)
class _Prepared:
    """What is known of a file before its turn in the transaction."""

    checksum: str
    size: int
    load_id: str
    rejected: _FileRejected | None = None  # why the file cannot be read as records at all
    parsed_jsonl: ParsedJsonl | None = None
    jsonl_records: int | None = None  # the JSON-lines file's non-blank lines, counted apart from the parse


@dataclass(frozen=True)
class _Batch:
    """What the files of one transaction share."""

    loaded_ids: set[str]  # loads in the ledger, this batch's included
    raw_columns: dict[str, set[str]]  # raw table -> its columns, kept current as the batch adds some


def _screen(landed: LandedFile, size: int) -> _FileRejected | None:
    """Why a file cannot be split into records at all; None when it can (or is empty)."""
    if not NAME_PATTERN.match(landed.system) or not NAME_PATTERN.match(landed.entity):
        return _FileRejected(
            "INVALID_NAME",
            f"system and entity names must be lower-case letters, digits and '_' "
            f"(got system {landed.system!r}, entity {landed.entity!r}); rename the file or folder")
    if size == 0:
        return None
    if landed.file_format is None:
        return _FileRejected(
            "UNSUPPORTED_FORMAT",
            f"{landed.path.suffix or 'no extension'} is not a supported format (use .csv, .jsonl or .parquet)")
    if landed.file_format != "parquet" and _starts_with(landed.path, UTF16_BOMS):
        return _FileRejected(
            "INVALID_ENCODING", f"the .{landed.file_format} file is UTF-16 (byte-order mark); re-export it as UTF-8")
    if landed.file_format != "parquet" and _looks_binary(landed.path):
        return _FileRejected(
            "BINARY_FILE",
            f"binary content in a .{landed.file_format} file (NUL bytes); expected UTF-8 text (UTF-16 without a BOM looks like this too)")
    return None


def _prepare(landed: LandedFile, loaded_ids: frozenset[str]) -> _Prepared:
    """Checksum and screen a file, parse its JSON lines: work that writes nothing, done on a worker thread."""
    checksum, size = file_checksum(landed.path)
    load_id = make_load_id(landed.system, landed.entity, checksum)
    if load_id in loaded_ids:  # skipped by the writer: nothing to read
        return _Prepared(checksum, size, load_id)
    rejected = _screen(landed, size)
    if landed.file_format == "jsonl" and size and rejected is None:
        return _Prepared(checksum, size, load_id, None,
                         parse_jsonl(landed.path, entity_contract(landed.system, landed.entity)),
                         _count_nonblank_lines(landed.path))
    return _Prepared(checksum, size, load_id, rejected)


def _load_one(con: duckdb.DuckDBPyConnection, landed: LandedFile, landing_dir: Path,
              prepared: _Prepared, batch: _Batch) -> LoadResult:
    """Load one file inside the caller's transaction; the same bytes loaded before load nothing.

    The ledger's ``location`` is the query or URL for files an extractor landed, else the file.
    """
    source_kind, source_location = read_source_note(landed.path)
    location = landed.location(landing_dir)
    checksum, size, load_id = prepared.checksum, prepared.size, prepared.load_id
    raw_table = raw_table_name(landed.system, landed.entity) if NAME_PATTERN.match(landed.entity) else ""
    if load_id in batch.loaded_ids:
        return LoadResult(load_id, landed.system, landed.entity, location, "already_loaded", 0, 0, 0,
                          "same content was loaded before", raw_table or None)
    batch.loaded_ids.add(load_id)
    ctx = _Context(con, landed, location, load_id, raw_table, entity_contract(landed.system, landed.entity),
                   _utcnow(), prepared.parsed_jsonl, batch.raw_columns)
    started_at = ctx.loaded_at
    independent_rows_in: int | None = None
    if prepared.rejected is not None:
        outcome = _reject_whole_file(ctx, prepared.rejected)
    elif size == 0:
        outcome = _Outcome(0, 0, 0, status="empty", message="empty file (0 bytes)")
    else:
        try:
            outcome = _READERS[landed.file_format](ctx)
            if landed.file_format == "jsonl":
                independent_rows_in = (prepared.jsonl_records if prepared.jsonl_records is not None
                                       else _count_nonblank_lines(landed.path))
        except _FileRejected as rejected:
            outcome = _reject_whole_file(ctx, rejected)
    if outcome.status == "loaded" and outcome.rows_loaded == 0 and outcome.rows_quarantined == 0:
        outcome = _Outcome(0, 0, 0, status="empty", message=outcome.message or "no records")
    _check_outcome(ctx, outcome, independent_rows_in)
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
    transaction per batch instead of per page saves a WAL flush per page. Worker
    threads checksum and parse the next files while this one writes.
    """
    ensure_schemas(con)
    con.execute("begin transaction")
    try:
        batch = _Batch(_loaded_ids(con, {landed.entity for landed in files}), raw_columns(con))
        loaded_before = frozenset(batch.loaded_ids)
        with closing(ordered_ahead(lambda landed: _prepare(landed, loaded_before), files)) as prepared:
            results = [_load_one(con, landed, landing_dir, ready, batch) for landed, ready in zip(files, prepared)]
        _check_tables_hold(con, results)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results


def load_file(con: duckdb.DuckDBPyConnection, landed: LandedFile, landing_dir: Path) -> LoadResult:
    """Load one landed file in its own transaction."""
    return load_files(con, [landed], landing_dir)[0]
