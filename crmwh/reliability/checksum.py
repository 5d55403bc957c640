"""Order-independent content checksums of warehouse tables, for "same data, same tables" proofs.

Some columns legitimately differ between two builds of the same source records and are left
out of the checksum:

* load metadata (``_load_id``, ``_loaded_at``, ``_night``, ``_source_file``, ``_record_number``
  and their staged names without the underscore): they record *where and when* a copy of a record
  was delivered (which night's folder, which page, which line), not what the record says. The
  same record delivered late, out of order or on another page has other values here by design.
  ``_row_hash`` (a hash of the delivered values) is kept: it must be equal.
* build timestamps (``matched_at``, ``built_at``, ``loaded_at``, ``_dbt_*``...): the wall-clock
  time dbt ran, different on every run.
* ``assignment_seq`` of the identity assignment log: a counter of dbt runs that changed keys,
  which grows with the number of runs, not with the data.
"""

from __future__ import annotations

import duckdb

from ingestion.warehouse import quote_ident

LOAD_METADATA_COLUMNS = frozenset({
    "_load_id", "_loaded_at", "_night", "_source_file", "_record_number", "_source_system_file",
    "load_id", "loaded_at", "night", "source_file", "record_number",
})
BUILD_TIME_COLUMNS = frozenset({
    "matched_at", "built_at", "refreshed_at", "computed_at", "dbt_updated_at", "dbt_valid_from",
    "dbt_valid_to", "dbt_scd_id", "assignment_seq", "run_started_at", "invocation_id",
    "resolved_night",  # the night of the build that last recomputed an identity row (core.dim_customer)
})
DEFAULT_EXCLUDED = LOAD_METADATA_COLUMNS | BUILD_TIME_COLUMNS


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]


def tables_in(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    placeholders = ", ".join("?" for _ in schemas)
    return con.execute(
        f"select table_schema, table_name from information_schema.tables where table_schema in ({placeholders}) "
        "order by 1, 2", list(schemas)).fetchall()


def row_hash_sql(columns: list[str]) -> str:
    """A hash of one row's values, NULL-safe, the same for equal rows whatever the row order."""
    return "hash(" + ", ".join(quote_ident(column) for column in columns) + ")" if columns else "0"


def table_checksums(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = ("core", "marts"),
                    excluded: frozenset[str] = DEFAULT_EXCLUDED) -> dict[str, tuple[int, int, tuple[str, ...]]]:
    """``{schema.table: (rows, checksum, compared columns)}``; the checksum sums 64-bit row hashes
    as a hugeint, so it does not depend on row order and equal multisets of rows give equal sums."""
    sums = {}
    for schema, table in tables_in(con, schemas):
        columns = [c for c in table_columns(con, schema, table) if c.lower() not in excluded]
        rows, total = con.execute(
            f"select count(*), coalesce(sum({row_hash_sql(columns)}::hugeint), 0)::varchar "
            f"from {quote_ident(schema)}.{quote_ident(table)}").fetchone()
        sums[f"{schema}.{table}"] = (rows, int(total), tuple(columns))
    return sums


def differences(left: dict, right: dict) -> dict[str, str]:
    """Tables whose row count, checksum or compared columns differ, with a one-line description."""
    found = {}
    for name in sorted(set(left) | set(right)):
        if name not in left or name not in right:
            found[name] = "only in " + ("right" if name not in left else "left")
        elif left[name] != right[name]:
            (rows_a, sum_a, cols_a), (rows_b, sum_b, cols_b) = left[name], right[name]
            found[name] = (f"rows {rows_a} vs {rows_b}, checksum {'equal' if sum_a == sum_b else 'differs'}"
                           + ("" if cols_a == cols_b else f", columns differ: {set(cols_a) ^ set(cols_b)}"))
    return found


def differing_columns(con: duckdb.DuckDBPyConnection, left_catalog: str, right_catalog: str, schema: str,
                      table: str, excluded: frozenset[str] = DEFAULT_EXCLUDED) -> list[str]:
    """The compared columns whose multiset of values differs between two attached databases (diagnosis)."""
    columns = [c for c in table_columns(con, schema, table) if c.lower() not in excluded]
    found = []
    for column in columns:
        query = ("select count(*) from (select {c} from {l}.{s}.{t} except all select {c} from {r}.{s}.{t}) "
                 "union all select count(*) from (select {c} from {r}.{s}.{t} except all select {c} from {l}.{s}.{t})")
        counts = con.execute(query.format(c=quote_ident(column), l=quote_ident(left_catalog),
                                          r=quote_ident(right_catalog), s=quote_ident(schema),
                                          t=quote_ident(table))).fetchall()
        if any(n for (n,) in counts):
            found.append(column)
    return found
