"""Split a JSON-lines file into records and rejects, before anything is written.

Parsing runs on a private in-memory DuckDB per thread, so the loader can parse
the next pages on worker threads while it writes a page into the warehouse
(a page is one 5,000-line Arrow batch, which one DuckDB query handles on one
core). The loader (``ingestion.loader``) writes what this module returns.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ingestion.contracts import Entity
from ingestion.landing import UTF8_BOM
from ingestion.warehouse import RAW_METADATA_COLUMNS, memory_limit, sql_string

# Bytes other than JSON whitespace and line ends: a line without any is blank.
_IS_LINE_CONTENT = np.ones(256, dtype=np.uint8)
_IS_LINE_CONTENT[list(b" \t\n\x0b\x0c\r")] = 0
_WHITESPACE_SQL = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"

_REASONS_SQL = """
    case error
        when 'INVALID_ENCODING' then 'line is not valid UTF-8'
        when 'MALFORMED_JSON' then 'line is not valid JSON'
        when 'NOT_AN_OBJECT' then 'line is JSON but not an object'
        when 'DUPLICATE_KEY' then 'field ' || to_json(bad_field)
             || ' appears twice in the record (names compare case-insensitively)'
        when 'EMPTY_FIELD_NAME' then 'a field of the record has an empty name'
        else 'field ' || to_json(bad_field) || ' is reserved for load metadata'
    end
"""


@dataclass(frozen=True)
class ParsedJsonl:
    """A file's records and rejects, as Arrow tables ready to insert."""

    fields: list[str]  # one column per name; spellings differing only in case share one
    records: pa.Table | None  # line_no, row_hash, then the fields' values as text, in line order
    rejects: pa.Table  # line, field, reason_code, reason, raw_record, in line order


def _lines_table(path: Path) -> tuple[pa.Table, str, str]:
    """Split a file into lines without creating a Python object per line.

    Returns the lines and the SQL expressions of a line's text and of the line
    as delivered, for the quarantine (null when the text is). Column ``text``
    holds the lines as strings when the whole file is UTF-8 (the usual case,
    checked once in C); otherwise it is null and SQL decodes ``bytes`` line by
    line, so only the bad lines are rejected. ``is_blank`` marks lines of
    whitespace only. The line ends (LF) are cut here when the file has no CR;
    otherwise SQL trims CR and LF off each line's end.
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        is_utf8 = True
    except UnicodeDecodeError:
        is_utf8 = False
    buffer = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buffer == 10)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    bom = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0  # belongs to the file, not to line 1's JSON
    starts[0] = bom
    if starts[-1] == len(data):
        starts = starts[:-1]
    offsets = np.append(starts, len(data))
    is_content = _IS_LINE_CONTENT[buffer]
    is_blank = (np.maximum.reduceat(is_content, starts) == 0) if len(starts) else np.zeros(0, dtype=bool)
    has_cr = b"\r" in data
    if not has_cr:
        # Each LF ends a line: without them (and the mark) the lines are their texts, still contiguous.
        offsets = offsets - np.searchsorted(newlines, offsets) - bom
        buffer = buffer[bom:][buffer[bom:] != 10]
    buffers = [None, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(buffer)]
    count = len(offsets) - 1
    lines = pa.LargeBinaryArray.from_buffers(pa.large_binary(), count, buffers)
    text = (pa.LargeStringArray.from_buffers(count, buffers[1], buffers[2]) if is_utf8
            else pa.nulls(count, pa.large_string()))
    table = pa.table({"line_no": pa.array(np.arange(1, count + 1, dtype=np.int64)), "bytes": lines,
                      "text": text, "is_blank": pa.array(is_blank)})
    text_sql = "text" if is_utf8 else "try(decode(bytes))"
    return (table, f"rtrim({text_sql}, chr(13) || chr(10))" if has_cr else text_sql,
            "null" if is_utf8 else "bytes::varchar")


def _json_path(key: str) -> str:
    return sql_string('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')


_connections = threading.local()


def _parse_connection() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB: one core each (the threads run side by side), under the
    pipeline's memory limit like its other connections."""
    con = getattr(_connections, "con", None)
    if con is None:
        con = duckdb.connect(config={"threads": 1, "memory_limit": memory_limit()})
        _connections.con = con
    return con


def _classify_lines(con: duckdb.DuckDBPyConnection, lines: pa.Table, text_sql: str, raw_sql: str) -> None:
    """Table ``lines``: each non-blank line's text, its error (null if a valid record) and its names."""
    con.register("jsonl_lines", lines)
    try:
        con.execute(
            f"""
            create or replace temp table lines as
            with decoded as (
                select line_no, {text_sql} as text, {raw_sql} as raw_bytes from jsonl_lines where not is_blank
            ), checked as (
                select line_no, text, raw_bytes,
                       case
                           when text is null then 'INVALID_ENCODING'
                           when not json_valid(text) then 'MALFORMED_JSON'
                           when left(ltrim(text, ' ' || chr(9) || chr(13)), 1) <> '{{' then 'NOT_AN_OBJECT'  -- valid JSON: '{{' opens an object
                       end as error
                from decoded
            )
            select line_no, text, error, null::varchar as bad_field,
                   case when error is null then json_keys(text) end as keys, raw_bytes
            from checked
            """
        )
    finally:
        con.unregister("jsonl_lines")
    # Field names become (case-insensitive) column names: a record whose names clash (the same
    # name twice: which value counts is ambiguous), are empty or are reserved is quarantined on
    # its own, naming the field. The lines of a file share few lists of names: each is checked once.
    reserved = list(RAW_METADATA_COLUMNS)
    con.execute(
        f"""
        create or replace temp table names as
        with lists as (
            select keys, list_transform(keys, lambda k: lower(k)) as lower_keys, min(line_no) as first_line
            from lines where error is null group by keys
        )
        select keys, first_line,
               case
                   when len(keys) <> len(list_distinct(lower_keys)) then 'DUPLICATE_KEY'
                   when list_bool_or(list_transform(keys, lambda k: trim(k, {_WHITESPACE_SQL}) = '')) then 'EMPTY_FIELD_NAME'
                   when list_has_any(lower_keys, ?::varchar[]) then 'RESERVED_FIELD_NAME'
               end as error,
               case
                   when len(keys) <> len(list_distinct(lower_keys))
                       then list_filter(keys, lambda k: len(list_filter(keys, lambda j: lower(j) = lower(k))) > 1)[1]
                   when list_bool_or(list_transform(keys, lambda k: trim(k, {_WHITESPACE_SQL}) = '')) then ''
                   else list_filter(keys, lambda k: list_contains(?::varchar[], lower(k)))[1]
               end as bad_field
        from lists
        """,
        [reserved, reserved],
    )
    if con.execute("select count(*) from names where error is not null").fetchall()[0][0]:
        con.execute(
            """
            update lines set error = n.error, bad_field = n.bad_field
            from names as n
            where n.error is not null and lines.error is null and lines.keys = n.keys
            """
        )


def _spellings(con: duckdb.DuckDBPyConnection, contract: Entity | None) -> dict[str, list[str]]:
    """Names of the valid records by lower-case name, each group's column name first.

    Spellings of one name that differ only in case (``priority`` on one line, ``Priority`` on
    another) fill one column, named as first delivered (the contract's spelling when delivered);
    no record holds two of them.
    """
    spellings: dict[str, list[str]] = {}
    for key, in con.execute(
        """
        select key from (select unnest(keys) as key, first_line from names where error is null)
        group by key order by min(first_line), key
        """
    ).fetchall():
        spellings.setdefault(key.lower(), []).append(key)
    known = set(contract.column_names) if contract else set()
    for names in spellings.values():
        names.sort(key=lambda name: name not in known)
    return spellings


def parse_jsonl(path: Path, contract: Entity | None) -> ParsedJsonl:
    """Every non-blank line becomes a record (its fields as text) or a reject with a reason."""
    con = _parse_connection()
    _classify_lines(con, *_lines_table(path))
    spellings = _spellings(con, contract)
    fields = [names[0] for names in spellings.values()]
    missing = contract.missing_required(fields) if contract and fields else []
    if missing:
        reason = f"required field(s) {', '.join(missing)} absent from every record"
        con.execute(
            "update lines set error = 'MISSING_REQUIRED_COLUMN', bad_field = ? where error is null", [missing[0]]
        )
        reasons = f"case when error = 'MISSING_REQUIRED_COLUMN' then {sql_string(reason)} else {_REASONS_SQL} end"
    else:
        reasons = _REASONS_SQL
    rejects = con.sql(
        f"""select line_no as line, bad_field as field, error as reason_code, {reasons} as reason,
                   coalesce(text, raw_bytes) as raw_record
            from lines where error is not null order by line_no"""
    ).to_arrow_table()
    records = None
    if fields and not missing:
        # One parse per line for all fields: extract a list of values, then index it.
        all_names = [name for names in spellings.values() for name in names]
        paths = ", ".join(_json_path(name) for name in all_names)
        values, position = [], 1
        for number, names in enumerate(spellings.values(), start=1):
            refs = [f"v[{position + offset}]" for offset in range(len(names))]
            value = refs[0] if len(refs) == 1 else f"coalesce({', '.join(refs)})"
            values.append(f"{value} as field_{number}")
            position += len(names)
        records = con.sql(
            f"""select line_no, md5(text) as row_hash, {", ".join(values)}
                from (select line_no, text, json_extract_string(text, [{paths}]) as v
                      from lines where error is null)
                order by line_no"""
        ).to_arrow_table()
    con.execute("drop table lines")
    con.execute("drop table names")
    return ParsedJsonl(fields, records, rejects)
