"""Where the incremental staging layer starts: the raw rows loaded since its last build.

The staging models and ``quarantine.staging_rejects`` are incremental (macro
``crmwh_stage``): a night types and ranks only the raw rows loaded at or after a
timestamp the pipeline passes in ``$CRMWH_STAGING_LOADED_SINCE``. That timestamp is
the start of the last successful staging build made with the same *staging
definition* (the contracts as dbt sees them and the staging macros), recorded in
``audit.staging_builds``. Every load of a night finishes before its staging build
starts, so everything loaded before that start was staged by it.

No such build (a new warehouse, a changed contract or staging macro, a build that
failed): the layer is rebuilt in full (``--full-refresh``), so a contract fix
re-admits rows from quarantine and a dropped column leaves the tables.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import duckdb

from crmwh.resources import dbt_project_dir

LOADED_SINCE_VARIABLE = "CRMWH_STAGING_LOADED_SINCE"

STAGING_BUILDS_DDL = """
create table if not exists audit.staging_builds (
    definition varchar not null,     -- staging_definition() the build ran with
    night date not null,
    run_id varchar not null,
    is_full_refresh boolean not null,
    started_at timestamp not null,   -- raw rows loaded before this were staged by this build
    finished_at timestamp not null
)
"""

# What decides how raw rows become staged rows or rejects: the generated sources and
# models, the quarantine model, and the macros they call.
_DEFINITION_GLOBS = (
    "models/staging/*/_*__sources.yml",
    "models/staging/*/*.sql",
    "models/quarantine/*.sql",
    "macros/crmwh_stage.sql",
    "macros/crmwh_types.sql",
    "macros/generated/*.sql",
)


def staging_definition(project_dir: Path | None = None) -> str:
    """A digest of every file that decides what the staging layer makes of a raw row."""
    project = project_dir or dbt_project_dir()
    digest = hashlib.sha256()
    for path in sorted({path for pattern in _DEFINITION_GLOBS for path in project.glob(pattern)}):
        digest.update(path.relative_to(project).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def ensure_staging_builds_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(STAGING_BUILDS_DDL)


def loaded_since(con: duckdb.DuckDBPyConnection, definition: str) -> datetime | None:
    """Start of the last staging build with this definition; None means rebuild in full."""
    ensure_staging_builds_table(con)
    row = con.execute(
        "select max(started_at) from audit.staging_builds where definition = ?", [definition]
    ).fetchone()
    return row[0] if row else None


def record_staging_build(con: duckdb.DuckDBPyConnection, definition: str, night: date, run_id: str,
                         *, full_refresh: bool, started_at: datetime, finished_at: datetime) -> None:
    ensure_staging_builds_table(con)
    con.execute("insert into audit.staging_builds values (?, ?, ?, ?, ?, ?)",
                [definition, night, run_id, full_refresh, started_at, finished_at])
