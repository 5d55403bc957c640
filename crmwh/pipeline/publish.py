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

from crmwh.config import Settings
from crmwh.errors import CrmwhError
from ingestion.warehouse import connect, quote_ident

PUBLISHED_STORAGE_VERSION = "v1.5.0"


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Delete temporary copies (and their ``.wal``) left by publishers that died mid-copy.

    A killed publisher cannot clean up after itself; its temporary carries its pid, so
    the next publish removes those of dead processes (and its own) and leaves a
    concurrent live publisher's file alone.
    """
    removed = []
    for path in target.parent.glob(f".{target.name}.*.tmp*"):
        stem = path.name.removesuffix(".wal")
        pid_text = stem.removesuffix(".tmp").rsplit(".", 1)[-1]
        if not stem.endswith(".tmp") or not pid_text.isdigit() or not path.is_file():
            continue
        pid = int(pid_text)
        if pid == os.getpid() or not _pid_alive(pid):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _unlink_database(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def publish(settings: Settings, tag: str = "night") -> Path:
    """Copy the build database to the published path atomically; returns the published path."""
    source = settings.build_db_path
    target = settings.warehouse_path
    if not source.is_file():
        raise CrmwhError(f"nothing to publish: build warehouse {source} does not exist; run the night's load first")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{tag}.{os.getpid()}.tmp")
    remove_stale_temporaries(target)
    catalog = source.stem  # views inside refer to this catalog name
    # Within the pipeline's memory limit: unlimited, copying the build file at scale l held
    # 19.7 GiB. What does not fit spills to a folder of the working files, not the cwd.
    spill = settings.work_dir / "publish_spill"
    spill.mkdir(parents=True, exist_ok=True)
    con = connect(":memory:")
    try:
        con.execute(f"set temp_directory = {_sql_path(spill)}")
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
        _unlink_database(temporary)
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
