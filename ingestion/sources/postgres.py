"""SQL source kind: land new or changed rows of a PostgreSQL table as ``<entity>.csv``.

What it does, per call::

    <landing>/<system>/<night>/<entity>.csv        # header + rows, PostgreSQL CSV
    <landing>/<system>/<night>/<entity>.batch-0002.csv  # when the night already has a file (a re-run)

* Incremental by a cursor column (default ``updated_at``): the first run (no stored cursor)
  takes every row; later runs take ``where <cursor_column> > <cursor>``, ordered by the cursor
  column. The new cursor is ``max(<cursor_column>)`` of the rows landed, stored only after the
  file is complete, fsynced and moved into the night folder. No new rows: no file is written
  and the cursor stays. Rows whose cursor column is NULL are taken by the first run only.
* Consistency: the row count, the new cursor and the ``COPY`` are read in one read-only
  REPEATABLE READ transaction, so they describe the same snapshot. The session runs with
  ``timezone = UTC``, so timestamps (and the stored cursor) are written in UTC.
* Cursor semantics and the late-commit pitfall: a strict ``>`` never lands a row twice, but a
  row committed *after* an extraction with an ``updated_at`` older than the cursor (a long
  write transaction that stamped ``now()`` at its start) would be skipped. ``settle_seconds``
  closes that gap: rows newer than the database's ``now() - settle`` are left for the next
  run, and the cursor never passes them; set it longer than your longest write transaction
  (e.g. 300) for live databases. It is off by default because it trusts the database clock:
  replayed or simulated data dated in the future would never be extracted. The loader does not
  need to de-duplicate what this module lands.
* Safe names: table and column names are quoted identifiers (``psycopg.sql.Identifier``), the
  cursor value is a quoted literal; ``table`` may be ``"schema.table"`` or a ``(schema, table)``
  tuple. A name with quotes or semicolons is looked up as a name, never run as SQL.
* Failures: a dropped connection (server restart, ``pg_terminate_backend``, network) discards
  the partial file and retries with exponential back-off (``backoff_seconds * 2**n``);
  ``retries`` counts the tries after the first. Errors that a retry cannot fix (missing table
  or column, permission, a stored cursor the column cannot compare with) and the last failed
  retry raise a one-line ``CrmwhError`` naming the source and what to do.
* Credentials: the DSN comes from the caller (environment or an Airflow connection) and is
  never written to a file or an error message; messages show host, port and database only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from crmwh.errors import CrmwhError
from ingestion.sources.cursors import CursorStore
from ingestion.sources.result import (
    ExtractResult,
    check_names,
    new_staging_dir,
    next_csv_path,
    night_folder,
    publish,
    remove_staging_dir,
)



def _where_the_server_is(dsn: str) -> str:
    """``host:port/dbname`` for messages; never the password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "an unparsable DSN"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    return f"{host}:{parts.get('port') or 5432}/{parts.get('dbname') or parts.get('user') or ''}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _table_parts(table: str | Sequence[str]) -> tuple[str, ...]:
    parts = tuple(table.split(".", 1)) if isinstance(table, str) else tuple(table)
    if not 1 <= len(parts) <= 2 or not all(isinstance(p, str) and p for p in parts):
        raise CrmwhError(f"postgres source: table {table!r} must be 'table', 'schema.table' or a (schema, table) pair")
    return parts


class _Permanent(Exception):
    """An error a retry cannot fix; carries the user-facing message."""


def extract_table(
    dsn: str,
    table: str | Sequence[str],
    *,
    system: str,
    entity: str,
    night: date,
    landing_dir: Path,
    cursors: CursorStore,
    cursor_column: str = "updated_at",
    columns: list[str] | None = None,
    retries: int = 3,
    backoff_seconds: float = 1.0,
    settle_seconds: float = 0.0,
) -> ExtractResult:
    """Land rows of ``table`` changed since the stored cursor; see the module docstring."""
    check_names("postgres", system, entity)
    parts = _table_parts(table)
    table_name = ".".join(parts)
    where = _where_the_server_is(dsn)
    source = f"postgres source {system}/{entity} (table {table_name!r} on {where})"
    previous = cursors.get(system, entity)
    folder = night_folder(Path(landing_dir), system, night)

    attempts = 0
    last_error: BaseException | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
        attempts += 1
        staging = new_staging_dir(Path(landing_dir), system, entity)
        try:
            rows, new_cursor, location, staged = _extract_once(
                dsn, parts, system=system, entity=entity, staging=staging, previous=previous,
                cursor_column=cursor_column, columns=columns, settle_seconds=settle_seconds,
            )
            if rows == 0:
                return ExtractResult(system, entity, night, 0, [], [], previous, previous, attempts)
            target = next_csv_path(folder, entity)
            publish(staged, target)
        except _Permanent as error:
            raise CrmwhError(f"{source}: {error}") from None
        except psycopg.OperationalError as error:  # connection lost or refused: worth a retry
            last_error = error
            continue
        except psycopg.Error as error:
            raise CrmwhError(f"{source}: {_first_line(error)}; check the table, columns and permissions") from None
        except OSError as error:
            raise CrmwhError(f"{source}: could not write the landed file ({_first_line(error)}); check free space and permissions of {landing_dir}") from None
        finally:
            remove_staging_dir(staging)
        # Landed and durable: only now may the cursor move.
        cursors.set(system, entity, new_cursor)
        return ExtractResult(system, entity, night, rows, [target], [location], new_cursor, previous, attempts)

    raise CrmwhError(
        f"{source}: read failed after {attempts} attempts ({_first_line(last_error) if last_error else 'unknown error'}); "
        "check the database is up and reachable and the DSN is right, then re-run (nothing was landed, the cursor did not move)"
    )


def _extract_once(
    dsn: str,
    parts: tuple[str, ...],
    *,
    system: str,
    entity: str,
    staging: Path,
    previous: str | None,
    cursor_column: str,
    columns: list[str] | None,
    settle_seconds: float,
) -> tuple[int, str | None, str, Path]:
    """One attempt: returns (rows, new cursor, query text, staged file). Raises psycopg errors as they come."""
    with psycopg.connect(dsn, autocommit=True, application_name=f"crmwh-extract {system}/{entity}") as conn:
        conn.execute("set timezone to 'UTC'")
        conn.execute("set datestyle to 'ISO, YMD'")
        conn.execute("set client_encoding to 'UTF8'")
        table_ident = sql.Identifier(*parts)
        available = dict(
            conn.execute(
                "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
                "where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped order by a.attnum",
                [table_ident.as_string(conn)],
            ).fetchall()
        )
        if not available:
            raise _Permanent("table not found (or it has no columns); check the table name, its schema and the DSN's database")
        if cursor_column not in available:
            raise _Permanent(f"cursor column {cursor_column!r} not in the table; pass cursor_column= one of {sorted(available)}")
        wanted = list(columns) if columns else list(available)
        unknown = [c for c in wanted if c not in available]
        if unknown:
            raise _Permanent(f"columns {unknown} not in the table; available: {sorted(available)}")

        cursor_ident = sql.Identifier(cursor_column)
        conditions: list[sql.Composable] = []
        if previous is not None:
            conditions.append(sql.SQL("{} > {}").format(cursor_ident, sql.Literal(previous)))
        if settle_seconds > 0:
            conditions.append(
                sql.SQL("{} <= now() - make_interval(secs => {})").format(cursor_ident, sql.Literal(float(settle_seconds)))
            )
        where_clause = sql.SQL(" where ") + sql.SQL(" and ").join(conditions) if conditions else sql.SQL("")
        select = sql.SQL("select {cols} from {table}{where} order by {cursor}").format(
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in wanted),
            table=table_ident,
            where=where_clause,
            cursor=cursor_ident,
        )
        stats = sql.SQL("select count(*), max({cursor})::text from {table}{where}").format(
            cursor=cursor_ident, table=table_ident, where=where_clause
        )
        copy = sql.SQL("copy ({select}) to stdout with (format csv, header)").format(select=select)
        location = select.as_string(conn)

        staged = staging / f"{entity}.csv"
        with conn.transaction():
            conn.execute("set transaction isolation level repeatable read, read only")
            try:
                rows, new_cursor = conn.execute(stats).fetchone()  # type: ignore[misc]
            except psycopg.DataError as error:
                raise _Permanent(
                    f"stored cursor {previous!r} does not compare with column {cursor_column!r} ({_first_line(error)}); "
                    "fix or remove it in the cursor file"
                ) from None
            if rows == 0:
                return 0, previous, location, staged
            with conn.cursor() as cur, open(staged, "wb") as handle:
                with cur.copy(copy) as stream:
                    for block in stream:
                        handle.write(block)
        if new_cursor is None:  # every landed row has a NULL cursor column (first run only)
            new_cursor = previous
        return int(rows), new_cursor, location, staged
