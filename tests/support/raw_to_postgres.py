"""Copy a DuckDB warehouse's ``raw`` tables, rows included, into PostgreSQL (for dbt-on-PostgreSQL tests)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from ingestion.warehouse import quote_ident


def copy_raw_to_postgres(database: Path, dsn: str, work: Path) -> int:
    """Recreate DuckDB's raw tables (same names and types) in PostgreSQL via CSV and COPY; returns rows copied."""
    source = duckdb.connect(str(database), read_only=True)
    copied = 0
    try:
        tables = [row[0] for row in source.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create schema if not exists raw")
            for table in tables:
                columns = source.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'raw' and table_name = ? order by ordinal_position", [table]).fetchall()
                conn.execute(sql.SQL("create table raw.{} ({})").format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind.lower()))
                                       for name, kind in columns)))
                csv_path = work / f"{table}.csv"
                source.execute(f"copy (select * from raw.{quote_ident(table)}) to '{csv_path}' (header, format csv)")
                with conn.cursor() as cursor:
                    with cursor.copy(sql.SQL("copy raw.{} from stdin (format csv, header true)").format(
                            sql.Identifier(table))) as copy:
                        copy.write(csv_path.read_bytes())
                copied += conn.execute(
                    sql.SQL("select count(*) from raw.{}").format(sql.Identifier(table))).fetchone()[0]
    finally:
        source.close()
    return copied
