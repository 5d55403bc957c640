"""A small published warehouse for the BI-access and report tests, built once per test session.

Cheapest path that still goes through the real pipeline pieces: simulate one xs night,
load it into raw, ``dbt build`` the whole project as of that night, record the night in
``audit.nights`` and publish (the v1.5 storage format copy BI tools open). No Airflow:
the DAG is tested elsewhere.

Use it from a test module with ``from support.warehouse_fixture import published_warehouse``;
the build is cached per process, so both test files share it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crmwh.config import Settings, load_settings
from crmwh.simulator.generate import generate

try:
    from support.nights import build_night
except ImportError:  # tests/ became a package
    from tests.support.nights import build_night

RUN_ID = "test_bi_report"
_BUILT: dict[str, Settings] = {}


def build_published_warehouse(home: Path) -> Settings:
    """Generate, load, build and publish one xs night under ``home``; returns its settings."""
    settings = load_settings({"CRMWH_HOME": str(home)})
    settings.ensure_dirs()
    started = time.monotonic()
    night = generate("xs", 1, settings.landing_dir).start
    # Every model, seed and snapshot, but only the data tests of the bi folder: the project's other
    # tests (more than half of the build time) are run by their own test files.
    build_night(settings, night, RUN_ID, publish_it=True, test_paths=("path:models/bi",))
    print(f"test warehouse built in {time.monotonic() - started:.1f}s: {settings.warehouse_path}")
    return settings


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose ``warehouse_path`` is a freshly published warehouse (shared by every module using it)."""
    if "settings" not in _BUILT:
        _BUILT["settings"] = build_published_warehouse(tmp_path_factory.mktemp("bi_warehouse"))
    return _BUILT["settings"]
