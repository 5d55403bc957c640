"""Read-only access to the published warehouse for the report.

Why a wrapper: every chart must degrade to a note when its table is missing or
empty (bring-your-own-data users have only orders), so each query first asks
whether the relations and columns it needs exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from crmwh.config import Settings
from crmwh.errors import CrmwhError


class Warehouse:
    """A read-only connection plus the catalog, loaded once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con = con
        self.path = path
        self._columns: dict[tuple[str, str], set[str]] = {}
        for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
        ).fetchall():
            self._columns.setdefault((schema, table), set()).add(column)

    def has(self, relation: str, columns: Sequence[str] = ()) -> bool:
        """True when ``schema.table`` exists with every one of ``columns``."""
        schema, table = relation.split(".", 1)
        present = self._columns.get((schema, table))
        return present is not None and set(columns) <= present

    def missing(self, needs: dict[str, Sequence[str]]) -> list[str]:
        """The relations of ``needs`` (relation -> columns) that are absent or lack a column."""
        return [relation for relation, columns in needs.items() if not self.has(relation, columns)]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.con.execute(sql, list(params)).fetchone()
        return row[0] if row else None


@contextmanager
def open_published(settings: Settings) -> Iterator[Warehouse]:
    """The published warehouse, read-only; a one-line error when there is none yet."""
    path = settings.warehouse_path
    if not path.is_file():
        raise CrmwhError(f"no published warehouse at {path}: run crmwh demo or crmwh nightly first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CrmwhError(f"cannot open the published warehouse {path} read-only: {first_line}") from None
    try:
        yield Warehouse(con, path)
    finally:
        con.close()
