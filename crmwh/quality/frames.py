"""A DuckDB query's rows as a pandas DataFrame, by way of Arrow.

DuckDB's ``.df()`` builds the frame through Python objects for strings: 12 s for 9M
campaign members at scale l, the larger part of an initial night's gates. Its Arrow
export of the same rows takes ~1 s. Arrow and ``.df()`` map a few types differently, so
those are converted to what ``.df()`` gives and GX sees the same frame either way:
decimals, 128-bit integers and dates are cast by DuckDB (to double and timestamp, as
``.df()`` converts them); integer and boolean columns with nulls become pandas' nullable
dtypes (Arrow would give float and object). The Arrow path takes only the flat types the
suites read (strings, numbers, booleans, dates, timestamps); a query with any other type
(lists, intervals, times, blobs, ...) keeps ``.df()``, whose nulls and objects differ.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from ingestion.warehouse import quote_ident

NULLABLE_DTYPES: dict[pa.DataType, Any] = {
    pa.bool_(): pd.BooleanDtype(),
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}


ARROW_SAFE_TYPES = {
    "varchar", "boolean", "float", "double", "decimal", "date",
    "tinyint", "smallint", "integer", "bigint", "hugeint",
    "utinyint", "usmallint", "uinteger", "ubigint", "uhugeint",
    "timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns", "timestamp with time zone",
}


# DuckDB type -> the type whose Arrow export converts to the dtype .df() gives
CAST_BEFORE_EXPORT = {"decimal": "double", "hugeint": "double", "uhugeint": "double", "date": "timestamp"}


def _as_dataframe_types(relation: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    columns = []
    for name, kind in zip(relation.columns, relation.types):
        quoted = quote_ident(name)
        cast = CAST_BEFORE_EXPORT.get(kind.id)
        columns.append(f"cast({quoted} as {cast}) as {quoted}" if cast else quoted)
    return relation.project(", ".join(columns))


def query_frame(con: duckdb.DuckDBPyConnection, query: str, parameters: list[Any] | None = None) -> pd.DataFrame:
    """``con.execute(query, parameters).df()``, with the same dtypes, in a tenth of the time."""
    relation = con.sql(query, params=parameters or None)
    if any(kind.id not in ARROW_SAFE_TYPES for kind in relation.types):
        return relation.df()
    table = _as_dataframe_types(relation).to_arrow_table()
    columns = {}
    for name, column in zip(table.column_names, table.columns):
        mapper = NULLABLE_DTYPES.get if column.null_count and column.type in NULLABLE_DTYPES else None
        columns[name] = column.to_pandas(types_mapper=mapper)
    return pd.DataFrame(columns, columns=table.column_names)
