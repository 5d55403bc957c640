"""Publishing: the real ``publish()`` swaps whole files while readers in other processes
keep querying; failed and killed publishes leave the last good warehouse as it was; the
published file is in a storage format DuckDB 1.5 (Superset's pinned driver) reads, whether it
was copied as a file (a build file in that format) or rewritten (a newer-format or bloated one)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb
import pytest

from crmwh.config import Settings
from crmwh.errors import CrmwhError
from crmwh.pipeline.publish import MAX_FREE_BLOCK_SHARE, publish
from ingestion.warehouse import connect

# A DuckDB file starts with an 8-byte checksum, the magic bytes "DUCK", then the storage
# version number (uint64, little endian). DuckDB 1.5.x reads versions 64..68 (its error
# message says so: "we can only read versions between 64 and 68"); 2.0 writes 999 by
# default and 68 with STORAGE_VERSION 'v1.5.0' (both measured). Kept apart from
# crmwh.pipeline.publish's own constant on purpose: the test states the fact independently.
DUCKDB_15_READABLE = range(64, 69)
# How a build file is written: by plain DuckDB 2 (its own newer format: publish rewrites it)
# or by the pipeline's connect() (the format DuckDB 1.5 reads: publish copies the file).
BUILD_FORMATS = ["newer format: rewrite", "1.5 format: file copy"]
OLD_DUCKDB = "1.5.5"

READER = r"""
import duckdb, json, sys, time
path, mode, stop, ready, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
query = '''select (select count(*) from facts), (select rows from snapshot),
                  (select version from snapshot), (select c from facts_count)'''
reads, failures, inconsistent, versions = 0, [], [], []
held = duckdb.connect(path, read_only=True) if mode == "held" else None
deadline = time.monotonic() + seconds
import pathlib
while time.monotonic() < deadline and not pathlib.Path(stop).exists():
    try:
        con = held or duckdb.connect(path, read_only=True)
        counted, stored, version, via_view = con.execute(query).fetchone()
        if held is None:
            con.close()
    except Exception as exc:  # recorded and reported: the test asserts there are none
        failures.append(f"{type(exc).__name__}: {exc}")
        continue
    reads += 1
    if counted != stored or via_view != stored:
        inconsistent.append([counted, stored, via_view, version])
    if version not in versions:
        versions.append(version)
    if reads == 1:
        pathlib.Path(ready).write_text("ok")
print(json.dumps({"reads": reads, "failures": failures[:5], "failed": len(failures),
                  "inconsistent": inconsistent[:5], "versions": versions}))
"""


def make_settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path, landing_dir=tmp_path / "landing",
                        warehouse_path=tmp_path / "warehouse" / "crm.duckdb", work_dir=tmp_path / "work")
    settings.ensure_dirs()
    return settings


def write_build(settings: Settings, version: int, rows: int | None = None, build_format: str = BUILD_FORMATS[0]) -> int:
    """A build database whose ``snapshot`` row records how many rows ``facts`` holds."""
    rows = rows if rows is not None else 1000 + 137 * version
    if build_format == BUILD_FORMATS[0]:
        con = duckdb.connect(str(settings.build_db_path))
    else:
        con = connect(settings.build_db_path)
    try:
        con.execute(f"create or replace table facts as select range as i, random() as r from range({rows})")
        con.execute(f"create or replace table snapshot as select {rows}::bigint as rows, {version} as version")
        con.execute("create or replace view facts_count as select count(*) as c from facts")
    finally:
        con.close()
    return rows


def query_one(path: Path, sql: str) -> tuple:
    """The one row ``sql`` returns from a DuckDB file opened read-only."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def read_published(path: Path) -> tuple[int, int, int]:
    return query_one(path, "select (select count(*) from facts), (select rows from snapshot), "
                           "(select version from snapshot)")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temporaries(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.warehouse_path.parent.iterdir() if p.name != settings.warehouse_path.name)


def start_reader(settings: Settings, mode: str, tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    stop, ready = tmp_path / f"stop-{mode}", tmp_path / f"ready-{mode}"
    process = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.warehouse_path), mode, str(stop), str(ready), "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return process, stop, ready


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.01)


def test_readers_keep_working_and_see_whole_snapshots_while_publishing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_build(settings, 0)
    publish(settings, tag="v0")
    readers = {mode: start_reader(settings, mode, tmp_path) for mode in ("reconnect", "held")}
    for process, _, ready in readers.values():
        wait_for(ready, process)
    for version in range(1, 6):
        write_build(settings, version)
        publish(settings, tag=f"v{version}")
        time.sleep(0.15)  # let the reconnecting reader see this version
    outcome = {}
    for mode, (process, stop, _) in readers.items():
        stop.write_text("stop")
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        outcome[mode] = json.loads(out.strip().splitlines()[-1])
    for mode, result in outcome.items():
        assert result["failed"] == 0, (mode, result["failures"])
        assert result["inconsistent"] == [], mode
        assert result["reads"] > 10, (mode, result)
    # a reader that reconnects sees new nights; one with an open connection keeps its snapshot
    assert len(outcome["reconnect"]["versions"]) >= 3, outcome["reconnect"]
    assert outcome["reconnect"]["versions"] == sorted(outcome["reconnect"]["versions"])
    assert outcome["held"]["versions"] == [0]
    assert read_published(settings.warehouse_path) == (1000 + 137 * 5, 1000 + 137 * 5, 5)
    assert temporaries(settings) == []


def test_missing_build_database_keeps_the_published_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    rows = write_build(settings, 1)
    publish(settings, tag="v1")
    before = digest(settings.warehouse_path)
    settings.build_db_path.unlink()
    with pytest.raises(CrmwhError, match="nothing to publish: build warehouse .* does not exist"):
        publish(settings, tag="v2")
    assert digest(settings.warehouse_path) == before
    assert read_published(settings.warehouse_path) == (rows, rows, 1)
    assert temporaries(settings) == []
    rows = write_build(settings, 2)
    publish(settings, tag="v2")
    assert read_published(settings.warehouse_path) == (rows, rows, 2)


@pytest.mark.parametrize("build_format", BUILD_FORMATS)
def test_write_error_mid_copy_keeps_the_published_file_and_removes_the_temporary(tmp_path: Path,
                                                                                   build_format: str) -> None:
    """A full disk, injected with RLIMIT_FSIZE in the publishing process (works as root too):
    writes past 2 MB fail with EFBIG after the temporary file was created and partly written."""
    settings = make_settings(tmp_path)
    rows = write_build(settings, 1, build_format=build_format)
    publish(settings, tag="v1")
    before = digest(settings.warehouse_path)
    big = write_build(settings, 2, rows=1_000_000, build_format=build_format)
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))\n"
        "from crmwh.config import load_settings\n"
        "from crmwh.pipeline.publish import publish\n"
        "try:\n"
        "    publish(load_settings(), tag='full')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "    sys.exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=crmwh_env(settings), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 3, (result.stdout, result.stderr[-2000:])
    # DuckDB's write error (rewrite) or the operating system's (file copy)
    assert any(error in result.stdout for error in ("IOException", "IO Error", "File too large")), result.stdout
    assert digest(settings.warehouse_path) == before
    assert read_published(settings.warehouse_path) == (rows, rows, 1)
    assert temporaries(settings) == []
    publish(settings, tag="v2")
    assert read_published(settings.warehouse_path) == (big, big, 2)


def crmwh_env(settings: Settings) -> dict[str, str]:
    return dict(os.environ, CRMWH_HOME=str(settings.home), CRMWH_WAREHOUSE=str(settings.warehouse_path),
                CRMWH_WORK_DIR=str(settings.work_dir), CRMWH_LANDING_DIR=str(settings.landing_dir))


@pytest.mark.parametrize("build_format", BUILD_FORMATS)
def test_publisher_killed_mid_copy_leaves_the_last_good_warehouse(tmp_path: Path, build_format: str) -> None:
    settings = make_settings(tmp_path)
    rows = write_build(settings, 1, build_format=build_format)
    publish(settings, tag="v1")
    before = digest(settings.warehouse_path)
    # Large enough to take a good part of a second to rewrite, or to copy as a file
    big_rows = 4_000_000 if build_format == BUILD_FORMATS[0] else 40_000_000
    big = write_build(settings, 2, rows=big_rows, build_format=build_format)
    env = crmwh_env(settings)
    code = "from crmwh.config import load_settings; from crmwh.pipeline.publish import publish; " \
           "publish(load_settings(), tag='killed')"
    publisher = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    temporary = settings.warehouse_path.with_name(f".crm.duckdb.killed.{publisher.pid}.tmp")
    deadline = time.monotonic() + 30
    while not (temporary.exists() and temporary.stat().st_size > 0):
        assert publisher.poll() is None, f"publisher ended before it could be killed: {publisher.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    publisher.send_signal(signal.SIGKILL)
    publisher.wait(timeout=10)
    assert publisher.returncode == -signal.SIGKILL
    assert digest(settings.warehouse_path) == before, "the kill came too late: publish finished"
    assert read_published(settings.warehouse_path) == (rows, rows, 1)
    assert temporary.name in temporaries(settings)  # the dead publisher's copy, beside, never in place
    publish(settings, tag="v2")
    assert read_published(settings.warehouse_path) == (big, big, 2)
    assert temporaries(settings) == []  # the next publish removed the dead publisher's leftovers


def test_published_file_header_is_a_duckdb_15_storage_version(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_build(settings, 1)
    with settings.build_db_path.open("rb") as handle:
        assert struct.unpack("<Q", handle.read(20)[12:20])[0] not in DUCKDB_15_READABLE, \
            "the build file is already old-format: this test would prove nothing"
    publish(settings, tag="v1")
    header = settings.warehouse_path.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    assert struct.unpack("<Q", header[12:20])[0] in DUCKDB_15_READABLE


def duckdb_15_dir() -> Path:
    """DuckDB 1.5.5's wheel unpacked into a cache folder (a wheel is a zip; no venv needed)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "crmwh-tests" / f"duckdb-{OLD_DUCKDB}"
    if (cache / "duckdb" / "__init__.py").is_file():
        return cache
    wheels = cache.with_name(cache.name + "-wheel")
    download = subprocess.run(
        [sys.executable, "-m", "pip", "download", f"duckdb=={OLD_DUCKDB}", "--no-deps", "--only-binary=:all:",
         "--quiet", "-d", str(wheels)],
        capture_output=True, text=True, timeout=120,
    )
    if download.returncode != 0:
        pytest.fail(f"cannot download duckdb=={OLD_DUCKDB} from the package index: {download.stderr.strip()[-300:]}")
    (wheel,) = wheels.glob(f"duckdb-{OLD_DUCKDB}-*.whl")
    partial = cache.with_name(cache.name + f"-partial-{os.getpid()}")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(partial)
    partial.rename(cache)
    return cache


@pytest.mark.parametrize("build_format", BUILD_FORMATS)
def test_duckdb_15_opens_the_published_file_read_only(tmp_path: Path, build_format: str) -> None:
    settings = make_settings(tmp_path)
    rows = write_build(settings, 3, build_format=build_format)
    publish(settings, tag="v3")
    code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(duckdb.__version__, *con.execute('select (select count(*) from facts), "
            "(select c from facts_count), (select version from snapshot)').fetchone())")
    env = dict(os.environ, PYTHONPATH=str(duckdb_15_dir()))
    result = subprocess.run([sys.executable, "-c", code, str(settings.warehouse_path)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [OLD_DUCKDB, str(rows), str(rows), "3"]


def block_counts(path: Path) -> tuple[int, int]:
    """(total, free) blocks of a DuckDB file."""
    return query_one(path, "select total_blocks, free_blocks from pragma_database_size() "
                           "where database_name = current_database()")


def free_some_blocks(settings: Settings, share_of_rows: float) -> None:
    """Grow the build file with a throw-away table, then drop it: its blocks become free space."""
    con = connect(settings.build_db_path)
    try:
        con.execute(f"create table scratch as select range as i, random() as r "
                    f"from range({int(share_of_rows * 2_000_000)})")
        con.execute("checkpoint")
        con.execute("drop table scratch")
        con.execute("checkpoint")
    finally:
        con.close()


def test_a_build_file_in_the_15_format_is_published_as_an_exact_copy(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    rows = write_build(settings, 1, rows=2_000_000, build_format=BUILD_FORMATS[1])
    free_some_blocks(settings, 0.3)
    total, free = block_counts(settings.build_db_path)
    assert 0 < free <= MAX_FREE_BLOCK_SHARE * total, (total, free)
    publish(settings, tag="v1")
    assert digest(settings.warehouse_path) == digest(settings.build_db_path)
    assert block_counts(settings.warehouse_path) == (total, free)
    assert read_published(settings.warehouse_path) == (rows, rows, 1)


def test_a_build_file_mostly_free_space_is_compacted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    rows = write_build(settings, 1, rows=500_000, build_format=BUILD_FORMATS[1])
    free_some_blocks(settings, 2.0)
    total, free = block_counts(settings.build_db_path)
    assert free > MAX_FREE_BLOCK_SHARE * total, (total, free)
    publish(settings, tag="v1")
    published_total, published_free = block_counts(settings.warehouse_path)
    assert published_free == 0 and published_total < total - free / 2, (total, free, published_total)
    assert read_published(settings.warehouse_path) == (rows, rows, 1)


def test_compact_publish_carries_no_free_block_over(tmp_path: Path) -> None:
    """Erasure publishes with compact=True: freed blocks may still hold erased values."""
    settings = make_settings(tmp_path)
    rows = write_build(settings, 1, rows=2_000_000, build_format=BUILD_FORMATS[1])
    free_some_blocks(settings, 0.3)
    assert block_counts(settings.build_db_path)[1] > 0
    publish(settings, tag="erase", compact=True)
    assert block_counts(settings.warehouse_path)[1] == 0
    assert read_published(settings.warehouse_path) == (rows, rows, 1)
    with settings.warehouse_path.open("rb") as handle:
        assert struct.unpack("<Q", handle.read(20)[12:20])[0] in DUCKDB_15_READABLE
