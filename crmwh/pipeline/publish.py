"""Publish the build warehouse: a whole new file, swapped in atomically.

BI tools and analysts open ``warehouse/crm.duckdb``. The night copies the build
database into a temporary file beside it, fsyncs it, then ``os.replace``s it onto
the published name. Readers that already have the old file open keep reading the
old inode; new readers get the new file; nobody ever sees a half-written one.

The published file must be in a storage format DuckDB 1.5 readers (Superset's pinned
driver) can open. Two ways to copy:

* **file copy**: the build file is already in such a format (the pipeline creates it
  so, ``ingestion.warehouse.STORAGE_VERSION``) and at most half of its blocks are free
  space: checkpoint it and copy its bytes. At scale l this is seconds instead of minutes.
* **rewrite** (``copy from database`` into a new v1.5.0 file): a build file in a newer
  format (created before this rule, or by plain DuckDB 2), a file mostly made of freed
  blocks (the rewrite compacts it), or ``compact=True``: erasure must not carry the
  freed blocks that held erased values into the published file.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

from crmwh.config import Settings
from crmwh.errors import CrmwhError
from ingestion.warehouse import STORAGE_VERSION, connect, quote_ident

# A DuckDB file starts with an 8-byte checksum, the magic bytes "DUCK" and its storage version
# number (uint64, little endian). DuckDB 1.5 reads versions 64..68 (its own error message says
# so); DuckDB 2.0 writes 68 for STORAGE_VERSION 'v1.5.0' and 999 by default.
DUCKDB_15_READABLE_VERSIONS = range(64, 69)
# Above this share of free blocks, publish rewrites (compacts) instead of copying the file.
MAX_FREE_BLOCK_SHARE = 0.5


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


def storage_version_number(path: Path) -> int | None:
    """The storage version in a DuckDB file's header, or None if it is not a DuckDB file."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[8:12] != b"DUCK":
        return None
    return int(struct.unpack("<Q", header[12:20])[0])


def _copy_file(source: Path, temporary: Path) -> bool:
    """Checkpoint the build file and copy its bytes; False (nothing copied) if it must be rewritten:
    its format is newer than DuckDB 1.5 reads, or most of it is free blocks.

    The connection stays open during the copy: it holds DuckDB's write lock, so no other
    process changes the file while its bytes are read.
    """
    if storage_version_number(source) not in DUCKDB_15_READABLE_VERSIONS:
        return False
    con = connect(source)
    try:
        con.execute("checkpoint")
        total_blocks, free_blocks = con.execute(
            "select total_blocks, free_blocks from pragma_database_size() where database_name = current_database()"
        ).fetchone()
        if free_blocks > MAX_FREE_BLOCK_SHARE * total_blocks:
            return False
        shutil.copyfile(source, temporary)
    finally:
        con.close()
    return True


def _rewrite(settings: Settings, source: Path, temporary: Path) -> None:
    """A new file in the format DuckDB 1.5 reads, holding every table and view of the build."""
    catalog = source.stem  # views inside refer to this catalog name
    # Within the pipeline's memory limit: unlimited, copying the build file at scale l held
    # 19.7 GiB. What does not fit spills to a folder of the working files, not the cwd.
    spill = settings.work_dir / "publish_spill"
    spill.mkdir(parents=True, exist_ok=True)
    con = connect(":memory:")
    try:
        con.execute(f"set temp_directory = {_sql_path(spill)}")
        con.execute(f"attach {_sql_path(source)} as {quote_ident(catalog)} (read_only)")
        con.execute(f"attach {_sql_path(temporary)} as crmwh_publish_target (storage_version '{STORAGE_VERSION}')")
        con.execute(f"copy from database {quote_ident(catalog)} to crmwh_publish_target")
        con.execute("checkpoint crmwh_publish_target")
        con.execute("detach crmwh_publish_target")
        con.execute(f"detach {quote_ident(catalog)}")
    finally:
        con.close()


def publish(settings: Settings, tag: str = "night", *, compact: bool = False) -> Path:
    """Copy the build database to the published path atomically; returns the published path.

    ``compact`` always rewrites the file (no freed block of the build file is carried over).
    """
    source = settings.build_db_path
    target = settings.warehouse_path
    if not source.is_file():
        raise CrmwhError(f"nothing to publish: build warehouse {source} does not exist; run the night's load first")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{tag}.{os.getpid()}.tmp")
    remove_stale_temporaries(target)
    try:
        if compact or not _copy_file(source, temporary):
            _rewrite(settings, source, temporary)
    except BaseException:
        _unlink_database(temporary)
        raise
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target
