"""Load every file a night delivered for one source system (or all of them) into ``raw``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from crmwh.errors import CrmwhError
from ingestion.landing import night_files, systems_in
from ingestion.loader import LoadResult, load_files
from ingestion.warehouse import ensure_contract_raw_tables

Progress = Callable[[str], None]


@dataclass
class SystemLoad:
    system: str
    night: date
    results: list[LoadResult] = field(default_factory=list)
    note: str = ""

    @property
    def rows_in(self) -> int:
        return sum(result.rows_in for result in self.results)

    @property
    def rows_loaded(self) -> int:
        return sum(result.rows_loaded for result in self.results)

    @property
    def rows_quarantined(self) -> int:
        return sum(result.rows_quarantined for result in self.results)


def add_note(con: duckdb.DuckDBPyConnection, night: date, note: str, system: str | None = None,
             entity: str | None = None) -> None:
    con.execute(
        "insert into audit.load_notes values (?, ?, ?, ?, ?)",
        [night, system, entity, note, datetime.now(UTC).replace(tzinfo=None)],
    )


def systems_for_night(landing_dir: Path, night: date) -> list[str]:
    """Systems that delivered a folder for ``night``."""
    return [system for system in systems_in(landing_dir) if (landing_dir / system / night.isoformat()).is_dir()]


def require_landed_night(landing_dir: Path, night: date) -> list[str]:
    """The systems with data for ``night``, or a one-line error saying where files were expected."""
    if not landing_dir.is_dir():
        raise CrmwhError(
            f"landing folder {landing_dir} does not exist: run `crmwh generate` or drop extracts as "
            f"{landing_dir}/<system>/{night.isoformat()}/<entity>.csv"
        )
    systems = systems_for_night(landing_dir, night)
    if not systems:
        raise CrmwhError(
            f"no source system delivered night {night.isoformat()}: expected folders "
            f"{landing_dir}/<system>/{night.isoformat()}/ (run `crmwh generate` or check the extract)"
        )
    return systems


def load_system_night(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    system: str,
    night: date,
    progress: Progress | None = None,
) -> SystemLoad:
    """Load one system's files for one night; a system that delivered nothing is noted, not failed."""
    ensure_contract_raw_tables(con)
    load = SystemLoad(system, night)
    folder = landing_dir / system / night.isoformat()
    if not folder.is_dir():
        load.note = f"no folder {folder}: nothing delivered, skipped"
        add_note(con, night, load.note, system)
        return load
    files = night_files(landing_dir, system, night)
    if not files:
        load.note = f"folder {folder} is empty: skipped"
        add_note(con, night, load.note, system)
    for _, batch in groupby(files, key=lambda landed: landed.entity):
        for result in load_files(con, list(batch), landing_dir):
            load.results.append(result)
            if progress:
                progress(
                    f"  {result.location}: {result.status}, {result.rows_loaded} loaded, "
                    f"{result.rows_quarantined} quarantined"
                )
    return load


def load_night(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    night: date,
    systems: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> list[SystemLoad]:
    available = require_landed_night(landing_dir, night)
    return [
        load_system_night(con, landing_dir, system, night, progress)
        for system in (list(systems) if systems is not None else available)
    ]
