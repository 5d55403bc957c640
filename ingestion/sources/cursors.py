"""Where each extractor left off: a small JSON file ``{"<system>/<entity>": "<cursor value>"}``.

Why a file of its own and not a warehouse table: the cursor must survive a failed night whose
warehouse build is thrown away, and it must only move once the landed files are on disk, which
is a file-system fact. Writes go to a temp file that replaces the old one atomically, under an
exclusive lock, so parallel extract tasks (one per entity) never lose each other's update.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crmwh.errors import CrmwhError

try:  # POSIX only; on other systems parallel writers are not supported
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def cursor_key(system: str, entity: str) -> str:
    return f"{system}/{entity}"


class CursorStore:
    """Get and set one cursor value (a string) per ``system/entity``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get(self, system: str, entity: str) -> str | None:
        """The stored cursor, or None when this entity was never extracted (take everything)."""
        return self._read().get(cursor_key(system, entity))

    def set(self, system: str, entity: str, value: str | None) -> None:
        """Store a cursor (None removes it, so the next run extracts everything again)."""
        with self._locked():
            values = self._read()
            key = cursor_key(system, entity)
            if value is None:
                values.pop(key, None)
            else:
                values[key] = str(value)
            self._write(values)

    def all(self) -> dict[str, str]:
        return dict(self._read())

    # -- internals -------------------------------------------------------------
    def _read(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            values = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as error:
            raise CrmwhError(
                f"cursor file {self.path} is not valid JSON ({error.msg} at line {error.lineno}); "
                "fix it, or delete it to extract every source in full again"
            ) from None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise CrmwhError(
                f"cursor file {self.path} must hold an object of strings like "
                '{"crm/contacts": "2026-11-21 03:00:00+00"}; fix it, or delete it to extract everything again'
            )
        return values

    def _write(self, values: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(values, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
