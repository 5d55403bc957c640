"""Find the files a night delivered: ``<landing>/<system>/<YYYY-MM-DD>/<entity>[.<part>].<ext>``."""

from __future__ import annotations

import re
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SUPPORTED_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LandedFile:
    system: str
    entity: str
    path: Path
    file_format: str | None  # None: not a format we read (the file is quarantined whole)
    night: date

    def location(self, landing_dir: Path) -> str:
        """Path relative to the landing folder, as recorded in the ledger and quarantine."""
        try:
            return self.path.relative_to(landing_dir).as_posix()
        except ValueError:
            return self.path.as_posix()


def is_source_folder(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(("_", "."))


def systems_in(landing_dir: Path) -> list[str]:
    if not landing_dir.is_dir():
        return []
    return sorted(path.name for path in landing_dir.iterdir() if is_source_folder(path))


def nights_in(landing_dir: Path) -> list[date]:
    """Every night any system has a folder for, sorted."""
    nights: set[date] = set()
    for system in systems_in(landing_dir):
        for child in (landing_dir / system).iterdir():
            try:
                nights.add(date.fromisoformat(child.name))
            except ValueError:
                continue
    return sorted(nights)


def entity_of(file_name: str) -> str:
    """``tickets.page-0003.jsonl`` -> ``tickets``; names are compared lower-case."""
    return file_name.split(".", 1)[0].lower()


def night_files(landing_dir: Path, system: str, night: date) -> list[LandedFile]:
    folder = landing_dir / system / night.isoformat()
    files = sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))
    return [
        LandedFile(
            system=system,
            entity=entity_of(path.name),
            path=path,
            file_format=SUPPORTED_FORMATS.get(path.suffix.lower()),
            night=night,
        )
        for path in files
    ]


def source_note_path(path: Path) -> Path:
    """Where an extractor records what a landed file came from (a dot file: never loaded itself)."""
    return path.with_name(f".{path.name}.source.json")


def write_source_note(path: Path, kind: str, location: str) -> None:
    source_note_path(path).write_text(json.dumps({"kind": kind, "location": location}) + "\n")


def read_source_note(path: Path) -> tuple[str, str | None]:
    """``(source_kind, location)``: ``("file", None)`` for a plain file drop."""
    note = source_note_path(path)
    if not note.is_file():
        return "file", None
    data = json.loads(note.read_text())
    return str(data.get("kind", "file")), data.get("location")
