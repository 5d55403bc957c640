"""Concurrent readers over several nights: two reader processes query the published warehouse the
whole time three consecutive nights load, build and publish; no read fails, every read sees one
whole published version, and the reconnecting reader sees each night as it is published.

tests/test_publish.py proves the swap itself with synthetic tables and many fast publishes; this
test runs real nights (simulated xs sources, load, ``dbt build``, ``publish``;
tests/support/nights.py) so readers query real marts while dbt writes the build database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from crmwh.simulator.generate import generate

try:
    from support.nights import build_night, home_settings
except ImportError:
    from tests.support.nights import build_night, home_settings

NIGHTS = 3
MIN_READS = 100  # measured: a few thousand per reader on a 2-core machine


def start_reader(path: Path, mode: str, folder: Path) -> tuple[subprocess.Popen, Path, Path]:
    stop, status = folder / f"stop-{mode}", folder / f"status-{mode}.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "crmwh.reliability.reader", str(path), mode, str(stop), str(status), "900", "0.01"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, stop, status


def seen_nights(status: Path) -> list[str]:
    return json.loads(status.read_text())["nights"] if status.exists() else []


def wait_until_seen(status: Path, night: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while night not in seen_nights(status):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"reader did not see night {night}: {seen_nights(status)}"
        time.sleep(0.05)


def test_two_readers_keep_reading_while_three_nights_publish(tmp_path: Path):
    started = time.monotonic()
    settings = home_settings(tmp_path / "home")
    first = generate("xs", NIGHTS, settings.landing_dir, seed=5, history_days=60).start
    nights = [first + timedelta(days=i) for i in range(NIGHTS)]
    readers = {mode: start_reader(settings.warehouse_path, mode, tmp_path) for mode in ("reconnect", "held")}
    try:
        for night in nights:
            build_night(settings, night, publish_it=True)
            # a dashboard refreshing every few milliseconds sees every night before the next publishes
            wait_until_seen(readers["reconnect"][2], night.isoformat(), readers["reconnect"][0])
        wait_until_seen(readers["held"][2], nights[0].isoformat(), readers["held"][0])
    finally:
        outcome = {}
        for mode, (process, stop, _) in readers.items():
            stop.write_text("stop")
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err[-2000:]
            outcome[mode] = json.loads(out.strip().splitlines()[-1])
    print("readers during nights:", {mode: {k: r[k] for k in ("reads", "failed", "nights")}
                                     for mode, r in outcome.items()},
          f"{time.monotonic() - started:.0f} s")
    for mode, result in outcome.items():
        assert result["failed"] == 0, (mode, result["failures"])
        assert result["inconsistent"] == [], (mode, result["inconsistent"][:5])
        assert result["reads"] >= MIN_READS, (mode, result["reads"])
    # The reconnecting reader saw every published night, in order; the open connection keeps the
    # version it opened (its inode) for as long as it stays open, and never fails.
    assert outcome["reconnect"]["nights"] == [night.isoformat() for night in nights]
    assert len(outcome["held"]["nights"]) == 1 and outcome["held"]["nights"][0] in outcome["reconnect"]["nights"]
    assert not [p.name for p in settings.warehouse_path.parent.iterdir() if p != settings.warehouse_path]
