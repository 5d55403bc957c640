"""What an extractor hands back, and the landing steps both source kinds share.

Files are written in ``<landing>/.crmwh-staging/`` (a dot folder, so the loader never reads
it; same file system, so the final ``os.replace`` is atomic) and moved into the night folder
only when complete and fsynced. A run that fails leaves nothing half-written in the night
folder, and its staging folder is removed.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from crmwh.errors import CrmwhError

STAGING_FOLDER = ".crmwh-staging"
# Same rule as the loader's names: they become folder and file names, so no '/', '..' or dots.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass
class ExtractResult:
    """One extraction: rows landed, the files (in load order) and the cursor after it."""

    system: str
    entity: str
    night: date
    rows: int
    paths: list[Path] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)  # query or URL behind each path, for the load ledger
    cursor: str | None = None  # cursor after this run (unchanged when nothing new)
    previous_cursor: str | None = None
    attempts: int = 1  # SQL: connection attempts; HTTP: requests made (retries included)

    @property
    def path(self) -> Path | None:
        """The single landed file (SQL), or None when nothing was landed."""
        return self.paths[0] if self.paths else None


def check_names(kind: str, system: str, entity: str) -> None:
    for what, name in (("system", system), ("entity", entity)):
        if not NAME_PATTERN.match(name):
            raise CrmwhError(
                f"{kind} source: {what} name {name!r} is not allowed; use lower-case letters, digits and "
                "underscores, starting with a letter (it becomes a landing folder or file name)"
            )


def night_folder(landing_dir: Path, system: str, night: date) -> Path:
    return Path(landing_dir) / system / night.isoformat()


def new_staging_dir(landing_dir: Path, system: str, entity: str) -> Path:
    root = Path(landing_dir) / STAGING_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{system}.{entity}.", dir=root))


def remove_staging_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    try:
        path.parent.rmdir()  # only succeeds when no other extraction is staging
    except OSError:
        pass


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(staged: Path, target: Path) -> None:
    """Move a complete staged file into the night folder atomically and durably."""
    fsync_file(staged)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    fsync_dir(target.parent)


def next_csv_path(folder: Path, entity: str) -> Path:
    """``<entity>.csv``; if the night already has one (a re-run), ``<entity>.batch-0002.csv`` and so on.

    Earlier batches stay: the cursor moved past their rows, so overwriting them would lose data.
    """
    first = folder / f"{entity}.csv"
    if not first.exists():
        return first
    pattern = re.compile(rf"^{re.escape(entity)}\.batch-(\d+)\.csv$")
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))]
    return folder / f"{entity}.batch-{max(numbers, default=1) + 1:04d}.csv"


def last_page_number(folder: Path, entity: str) -> int:
    """Highest ``<entity>.page-NNNN.jsonl`` already landed that night (0 if none)."""
    if not folder.is_dir():
        return 0
    pattern = re.compile(rf"^{re.escape(entity)}\.page-(\d+)\.jsonl$")
    return max((int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))), default=0)
