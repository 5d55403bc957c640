"""Publish the build warehouse: a whole new file, swapped in atomically.

BI tools and analysts open ``warehouse/crm.duckdb``. The night copies the build
database into a temporary file beside it (in DuckDB's v1.5.0 storage format,
which DuckDB 1.5 readers such as Superset's pinned driver can open),
checkpoints and closes it, then ``os.replace``s it onto the published name.
Readers that already have the old file open keep reading the old inode; new
readers get the new file; nobody ever sees a half-written one.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from crmwh.config import Settings
from ingestion.warehouse import quote_ident

PUBLISHED_STORAGE_VERSION = "v1.5.0"


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def publish(settings: Settings, tag: str = "night") -> Path:
    """Copy the build database to the published path atomically; returns the published path."""
    source = settings.build_db_path
    target = settings.warehouse_path
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{tag}.{os.getpid()}.tmp")
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)
    catalog = source.stem  # views inside refer to this catalog name
    con = duckdb.connect()
    try:
        con.execute(f"attach {_sql_path(source)} as {quote_ident(catalog)} (read_only)")
        con.execute(
            f"attach {_sql_path(temporary)} as crmwh_publish_target (storage_version '{PUBLISHED_STORAGE_VERSION}')"
        )
        con.execute(f"copy from database {quote_ident(catalog)} to crmwh_publish_target")
        con.execute("checkpoint crmwh_publish_target")
        con.execute("detach crmwh_publish_target")
        con.execute(f"detach {quote_ident(catalog)}")
    except BaseException:
        con.close()
        temporary.unlink(missing_ok=True)
        raise
    con.close()
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target
