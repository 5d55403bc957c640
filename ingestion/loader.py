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
from collections.abc import Iterable
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
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"


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
    schema, table = ctx.raw_table.split(".", 1)
    existing = {
        row[0].lower(): row[0]
        for row in ctx.con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    ensure_raw_table(ctx.con, ctx.raw_table, [existing.get(name.lower(), name) for name in fields])
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
        f"case when regexp_matches({quote_ident(f)}, ?) then {_sql_string(f)} end" for f in fields) + ")"
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
    columns = "{" + ", ".join(f"{_sql_string(name)}: 'VARCHAR'" for name in fields) + "}"
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
    if data.startswith(UTF8_BOM):  # a byte-order mark belongs to the file, not to line 1's JSON
        starts[0] = len(UTF8_BOM)
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
            , checked as (
                select line_no, text,
                       case
                           when text is null then 'INVALID_ENCODING'
                           when not json_valid(text) then 'MALFORMED_JSON'
                           when left(ltrim(text, ' ' || chr(9) || chr(13)), 1) <> '{' then 'NOT_AN_OBJECT'  -- valid JSON: '{' opens an object
                       end as error
                from decoded
                where text is null or trim(text, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)) <> ''
            ), keyed as (
                select line_no, text, error, keys, list_transform(keys, lambda k: lower(k)) as lower_keys
                from (select line_no, text, error, case when error is null then json_keys(text) end as keys
                      from checked)
            )
            -- Field names become (case-insensitive) column names: a record whose names clash
            -- (the same name twice: which value counts is ambiguous), are empty or are reserved
            -- is quarantined on its own, naming the field.
            select line_no, text,
                   case
                       when error is not null then error
                       when len(keys) <> len(list_distinct(lower_keys)) then 'DUPLICATE_KEY'
                       when list_bool_or(list_transform(keys, lambda k: trim(k) = '')) then 'EMPTY_FIELD_NAME'
                       when list_has_any(lower_keys, ?::varchar[]) then 'RESERVED_FIELD_NAME'
                   end as error,
                   case
                       when error is not null then null
                       when len(keys) <> len(list_distinct(lower_keys))
                           then list_filter(keys, lambda k: len(list_filter(keys, lambda j: lower(j) = lower(k))) > 1)[1]
                       when list_bool_or(list_transform(keys, lambda k: trim(k) = '')) then ''
                       else list_filter(keys, lambda k: list_contains(?::varchar[], lower(k)))[1]
                   end as bad_field
            from keyed
            """,
            [list(RAW_METADATA_COLUMNS), list(RAW_METADATA_COLUMNS)],
        )
        quarantined = _quarantine_rows(
            ctx,
            """select j.line_no, j.bad_field, j.error,
                      case j.error
                          when 'INVALID_ENCODING' then 'line is not valid UTF-8'
                          when 'MALFORMED_JSON' then 'line is not valid JSON'
                          when 'NOT_AN_OBJECT' then 'line is JSON but not an object'
                          when 'DUPLICATE_KEY' then 'field ' || to_json(j.bad_field)
                               || ' appears twice in the record (names compare case-insensitively)'
                          when 'EMPTY_FIELD_NAME' then 'a field of the record has an empty name'
                          else 'field ' || to_json(j.bad_field) || ' is reserved for load metadata'
                      end,
                      coalesce(j.text, l.bytes::varchar)
               from crmwh_jsonl as j join crmwh_jsonl_lines as l using (line_no)
               where j.error is not null order by j.line_no""",
        )
    finally:
        con.unregister("crmwh_jsonl_lines")
    # Spellings of one name that differ only in case (``priority`` on one line, ``Priority`` on
    # another) fill one column, named as first delivered; no record holds two of them.
    spellings: dict[str, list[str]] = {}
    for key, in con.execute(
        """
        select key from (
            select unnest(json_keys(text)) as key, line_no from crmwh_jsonl where error is null
        ) group by key order by min(line_no), key
        """
    ).fetchall():
        spellings.setdefault(key.lower(), []).append(key)
    known = set(ctx.contract.column_names) if ctx.contract else set()
    for names in spellings.values():  # the contract's spelling names the column when delivered
        names.sort(key=lambda name: name not in known)
    fields = [names[0] for names in spellings.values()]
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
        all_names = [name for names in spellings.values() for name in names]
        paths = ", ".join(_json_path(name) for name in all_names)
        values_list, position = [], 1
        for names in spellings.values():
            refs = [f"v[{position + offset}]" for offset in range(len(names))]
            values_list.append(refs[0] if len(refs) == 1 else f"coalesce({', '.join(refs)})")
            position += len(names)
        values = ", ".join(values_list)
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


def _already_loaded(con: duckdb.DuckDBPyConnection, load_id: str) -> bool:
    return con.execute("select count(*) from audit.load_ledger where load_id = ?", [load_id]).fetchall()[0][0] > 0


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
    elif landed.file_format != "parquet" and _starts_with(landed.path, UTF16_BOMS):
        outcome = _reject_whole_file(ctx, _FileRejected(
            "INVALID_ENCODING", f"the .{landed.file_format} file is UTF-16 (byte-order mark); re-export it as UTF-8"))
    elif landed.file_format != "parquet" and _looks_binary(landed.path):
        outcome = _reject_whole_file(ctx, _FileRejected(
            "BINARY_FILE",
            f"binary content in a .{landed.file_format} file (NUL bytes); expected UTF-8 text (UTF-16 without a BOM looks like this too)"))
    else:
        try:
            outcome = _READERS[landed.file_format](ctx)
            if landed.file_format == "jsonl":
                independent_rows_in = _count_nonblank_lines(ctx)
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
    transaction per batch instead of per page saves a WAL flush per page.
    """
    ensure_schemas(con)
    con.execute("begin transaction")
    try:
        results = [_load_one(con, landed, landing_dir) for landed in files]
        _check_tables_hold(con, results)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results


def load_file(con: duckdb.DuckDBPyConnection, landed: LandedFile, landing_dir: Path) -> LoadResult:
    """Load one landed file in its own transaction."""
    return load_files(con, [landed], landing_dir)[0]
