"""Turn world tables into the shapes real systems export: CSV, JSON lines pages, Parquet.

Times arrive as float days; here they become ISO 8601 strings (UTC with
``Z``, or ``+01:00`` local time for the call-center switch) or Parquet
timestamps. Dirty lines are spliced into the written bytes afterwards, so the
clean writers stay fast library calls.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from crmwh.simulator.common import Clock

LOCAL_OFFSET_SYSTEMS = {"callcenter": 3600}


def _epoch(clock: Clock, col: pa.Array, shift: int = 0) -> pa.Array:
    days = col.to_numpy(zero_copy_only=False).astype(np.float64)
    nulls = np.isnan(days)
    secs = clock.origin_epoch + np.floor(np.nan_to_num(days) * 86400.0).astype(np.int64) + shift
    return pa.array(secs, pa.timestamp("s", tz="UTC"), mask=nulls)


def _dates(clock: Clock, col: pa.Array) -> pa.Array:
    days = col.to_numpy(zero_copy_only=False).astype(np.float64)
    nulls = np.isnan(days)
    base = (np.datetime64(clock.origin.isoformat(), "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
    return pa.array((base + np.floor(np.nan_to_num(days))).astype(np.int32), pa.date32(), mask=nulls)


def format_table(table: pa.Table, types: dict[str, str], clock: Clock, system: str, fmt: str) -> pa.Table:
    """Contract columns in export form: strings for text formats, typed for Parquet."""
    shift = LOCAL_OFFSET_SYSTEMS.get(system, 0)
    suffix = "Z" if shift == 0 else "+01:00"
    out = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        kind = types.get(name, "varchar")
        if kind == "timestamp":
            ts = _epoch(clock, col, shift)
            col = ts if fmt == "parquet" else pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S" + suffix)
        elif kind == "date":
            d = _dates(clock, col)
            col = d if fmt == "parquet" else pc.strftime(d, format="%Y-%m-%d")
        elif kind.startswith("numeric"):
            col = pc.round(pc.cast(col, pa.float64()), 2)
        elif kind == "bigint":
            col = pc.cast(col, pa.int64())
        elif kind == "double":
            col = pc.cast(col, pa.float64())
        if fmt == "csv":
            col = pc.cast(col, pa.string())
        out[name] = col
    return pa.table(out)


def csv_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    return sink.getvalue()


def jsonl_bytes(table: pa.Table) -> bytes:
    """JSON lines written by DuckDB (one thread, so the bytes are reproducible)."""
    if table.num_rows == 0:
        return b""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.jsonl"
        con = duckdb.connect()
        try:
            con.execute("set threads = 1")
            con.register("page", table)
            con.execute(f"copy (select * from page) to '{path}' (format json)")
        finally:
            con.close()
        return path.read_bytes()


def jsonl_pages(table: pa.Table, page_size: int, rows_per_copy: int = 200_000):
    """Yield ``(first row, end row, bytes)`` per page of ``page_size`` records.

    DuckDB writes one JSON object per line, so the bytes of a page equal those
    lines cut out of a larger export; exporting many pages at once saves a
    connection and a temporary file per page (the bytes are the same as
    ``jsonl_bytes`` of each page's slice).
    """
    n = table.num_rows
    n_pages = max(1, -(-n // page_size))
    pages_per_copy = max(1, rows_per_copy // page_size)
    for first_page in range(0, n_pages, pages_per_copy):
        last_page = min(n_pages, first_page + pages_per_copy)
        lo_batch, hi_batch = first_page * page_size, min(n, last_page * page_size)
        data = jsonl_bytes(table.slice(lo_batch, hi_batch - lo_batch))
        offs = line_offsets(data)
        for page in range(first_page, last_page):
            lo, hi = page * page_size, min(n, (page + 1) * page_size)
            yield lo, hi, data[int(offs[lo - lo_batch]):int(offs[hi - lo_batch])] if data else b""


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def line_offsets(data: bytes) -> np.ndarray:
    """Start offset of every line, plus the total length at the end."""
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10) + 1
    return np.concatenate([[0], ends]).astype(np.int64)


def splice_lines(data: bytes, replacements: dict[int, bytes]) -> bytes:
    """Replace whole lines (0-based line index, without the trailing newline)."""
    if not replacements:
        return data
    offs = line_offsets(data)
    pieces, pos = [], 0
    for line in sorted(replacements):
        start, end = int(offs[line]), int(offs[line + 1]) - 1
        pieces.append(data[pos:start])
        pieces.append(replacements[line])
        pos = end
    pieces.append(data[pos:])
    return b"".join(pieces)


def get_line(data: bytes, offs: np.ndarray, line: int) -> bytes:
    return data[int(offs[line]):int(offs[line + 1]) - 1]


def json_with(line: bytes, field: str, value: object) -> bytes:
    record = json.loads(line)
    record[field] = value
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
