"""Helpers for ingestion tests: drop a file into a landing folder, open a throwaway warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb

from ingestion.warehouse import connect

NIGHT = date(2026, 11, 1)


def drop(landing: Path, system: str, name: str, content: bytes | str, night: date = NIGHT) -> Path:
    """Write ``content`` as ``landing/<system>/<night>/<name>`` and return the path."""
    folder = landing / system / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def warehouse_connection(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Body of a ``con`` fixture: a fresh build warehouse in ``tmp_path``."""
    connection = connect(tmp_path / "crm.duckdb")
    yield connection
    connection.close()
