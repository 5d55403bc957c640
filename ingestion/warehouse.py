"""The build warehouse's fixed tables: schemas, raw tables per contract, quarantine and audit ledgers.

Raw tables are named ``raw.<system>__<entity>``; systems without a contract
file (bring your own data) load into ``raw.byod__<entity>``. Every delivered
field is kept as text, exactly as delivered, under the name it was delivered
with (schema drift adds columns, never drops them), beside load metadata.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from crmwh.errors import CrmwhError
from ingestion.contracts import ANY_SYSTEM, all_systems

SCHEMAS = ("raw", "quarantine", "staging", "core", "marts", "bi", "audit")
# DuckDB's own default is 80% of RAM, and it keeps that much in cached pages: a full build at
# scale m reached 9.3 GiB RSS in dbt. Past the limit DuckDB spills to disk instead. The same
# variable sets dbt's limit (profiles.yml); the pipeline passes this default on to dbt.
MEMORY_LIMIT_VARIABLE = "CRMWH_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"
# Files this project creates are in the storage format DuckDB 1.5 reads (BI tools such as
# Superset pin duckdb<2): the published warehouse can then be a plain copy of the build file
# (crmwh.pipeline.publish). An existing file keeps the format it was created with.
STORAGE_VERSION = "v1.5.0"
BYOD_SYSTEM = "byod"

# Load metadata carried by every raw row, in this order, before the delivered fields.
RAW_METADATA_COLUMNS: dict[str, str] = {
    "_load_id": "varchar",
    "_source_system": "varchar",
    "_source_file": "varchar",
    "_record_number": "bigint",
    "_night": "date",
    "_loaded_at": "timestamp",
    "_row_hash": "varchar",
}

LOAD_LEDGER_DDL = """
create table if not exists audit.load_ledger (
    load_id varchar primary key,
    source_system varchar not null,
    entity varchar not null,
    night date not null,
    location varchar not null,          -- the file, or the query / URL an extractor read
    landed_file varchar not null,       -- path of the landed file, relative to the landing folder
    source_kind varchar not null,       -- file, sql, http
    file_format varchar,
    file_bytes bigint,
    checksum varchar,                   -- sha256 of the delivered bytes
    raw_table varchar,
    rows_in bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    status varchar not null,            -- loaded, rejected_file
    message varchar,
    started_at timestamp not null,
    finished_at timestamp not null
)
"""

LOAD_REJECTS_DDL = """
create table if not exists quarantine.load_rejects (
    load_id varchar not null,
    source_system varchar not null,
    entity varchar not null,
    night date not null,
    location varchar not null,
    line bigint,                        -- line in the file (null when the whole file is rejected)
    field varchar,                      -- offending column, when one is to blame
    reason_code varchar not null,       -- e.g. MALFORMED_JSON, TOO MANY COLUMNS, MISSING_REQUIRED_COLUMN
    reason varchar not null,
    raw_record varchar,                 -- the rejected line or record, as delivered
    quarantined_at timestamp not null
)
"""

LOAD_NOTES_DDL = """
create table if not exists audit.load_notes (
    night date not null,
    source_system varchar,
    entity varchar,
    note varchar not null,
    noted_at timestamp not null
)
"""


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a warehouse file; timestamps are UTC so text renderings never depend on the machine.

    The memory limit applies to the whole database instance of this process (DuckDB shares it
    between connections to the same file).
    """
    config = {} if read_only else {"storage_compatibility_version": STORAGE_VERSION}
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("set TimeZone = 'UTC'")
    limit = memory_limit()
    try:
        con.execute(f"set memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error as exc:
        con.close()
        raise CrmwhError(f"{MEMORY_LIMIT_VARIABLE}={limit!r} is not a DuckDB memory limit ({exc}); "
                         "use e.g. 4GB, 512MB or 50%") from None
    return con


def memory_limit() -> str:
    """DuckDB memory limit of the pipeline's connections and of dbt: $CRMWH_DUCKDB_MEMORY_LIMIT, else 4GB."""
    return os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or DEFAULT_MEMORY_LIMIT


def raw_table_name(system: str, entity: str) -> str:
    """Unquoted ``schema.table`` name of the raw table for a system's entity."""
    table_system = system if system in all_systems() and system != ANY_SYSTEM else BYOD_SYSTEM
    return f"raw.{table_system}__{entity}"


def sql_string(value: str) -> str:
    """A SQL string literal holding ``value``."""
    return "'" + value.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB/PostgreSQL, whatever characters it holds."""
    return '"' + name.replace('"', '""') + '"'


def qualified(table: str) -> str:
    schema, name = table.split(".", 1)
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    present = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() and "
        "schema_name || '.' || table_name in ('audit.load_ledger', 'quarantine.load_rejects', 'audit.load_notes')"
    ).fetchall()[0][0]
    if present == 3:  # everything below exists already: skip the DDL on the hot path
        return
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {quote_ident(schema)}")
    con.execute(LOAD_LEDGER_DDL)
    con.execute(LOAD_REJECTS_DDL)
    con.execute(LOAD_NOTES_DDL)


def raw_columns(con: duckdb.DuckDBPyConnection, table: str | None = None) -> dict[str, set[str]]:
    """Columns of the raw tables (or of one), by ``raw.<table>`` name, in one catalog query."""
    query = ("select schema_name || '.' || table_name, column_name from duckdb_columns() "
             "where database_name = current_database() and schema_name = 'raw'")
    params: list[str] = []
    if table is not None:
        query += " and table_name = ?"
        params.append(table.split(".", 1)[1])
    columns: dict[str, set[str]] = {}
    for name, column in con.execute(query, params).fetchall():
        columns.setdefault(name, set()).add(column)
    return columns


def ensure_raw_table(con: duckdb.DuckDBPyConnection, table: str, field_names: list[str],
                     existing: set[str] | None = None) -> None:
    """Create ``table`` if missing and add any delivered field it lacks (schema drift), all as text.

    ``existing``: the table's columns when the caller already read them (empty set: no table).
    """
    if existing is None:
        existing = raw_columns(con, table).get(table, set())
    if not existing:
        columns = [f"{quote_ident(name)} {sql_type}" for name, sql_type in RAW_METADATA_COLUMNS.items()]
        columns += [f"{quote_ident(name)} varchar" for name in field_names if name not in RAW_METADATA_COLUMNS]
        con.execute(f"create table if not exists {qualified(table)} ({', '.join(columns)})")
        return
    known = {name.lower() for name in existing}  # DuckDB identifiers are case-insensitive
    for field in field_names:
        if field.lower() not in known:
            con.execute(f"alter table {qualified(table)} add column {quote_ident(field)} varchar")
            known.add(field.lower())


def ensure_contract_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create an (empty) raw table for every contracted entity, so staging always has a relation to read."""
    ensure_schemas(con)
    existing = raw_columns(con)
    for system in all_systems().values():
        for entity in system.entities.values():
            table = raw_table_name(system.name, entity.name)
            ensure_raw_table(con, table, entity.column_names, existing.get(table, set()))
