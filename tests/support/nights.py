"""Build nights cheaply for the reliability tests: load the landed files, ``dbt build`` the models.

The same pieces the night runs (``ingestion.night.load_night``, ``run_dbt``, ``publish``) without
Airflow, the GX gates or dbt's data tests (other test files run those): a night costs one dbt
invocation. ``tests/support/warehouse_fixture.py`` builds one night this way; these helpers build
several in a row in the same home.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from crmwh.config import Settings, load_settings
from crmwh.pipeline import audit
from crmwh.pipeline.dbt_runner import run_dbt
from crmwh.pipeline.publish import publish
from ingestion.night import load_night
from ingestion.warehouse import connect, ensure_contract_raw_tables

# Models, seeds and snapshots; data tests only where asked (indirect selection off).
BUILT_RESOURCES = ["resource_type:model", "resource_type:seed", "resource_type:snapshot"]


def home_settings(home: Path) -> Settings:
    settings = load_settings({"CRMWH_HOME": str(home)})
    settings.ensure_dirs()
    return settings


def build_night(settings: Settings, night: date, run_id: str | None = None, publish_it: bool = False,
                test_paths: tuple[str, ...] = ()) -> None:
    """Load every system's folder for ``night`` into raw, build all models as of the night, record it.

    ``test_paths`` (e.g. ``"path:models/bi"``) adds the data tests of those folders to the build.
    """
    run_id = run_id or f"test_{night.isoformat()}"
    con = connect(settings.build_db_path)
    try:
        ensure_contract_raw_tables(con)
        audit.start_night(con, night, run_id)
        load_night(con, settings.landing_dir, night)
    finally:
        con.close()
    result = run_dbt(settings, ["build", "--select", *BUILT_RESOURCES, *test_paths, "--indirect-selection", "empty"],
                     as_of=night)
    assert result.ok, f"dbt build of {night} failed: {result.failures[:5]}"
    con = connect(settings.build_db_path)
    try:
        audit.finish_night(con, night, run_id, status="success", published=publish_it, reason=None)
    finally:
        con.close()
    if publish_it:
        publish(settings, tag=night.isoformat())


def branch_home(source: Settings, home: Path) -> Settings:
    """A new home that continues from ``source``'s build database (and dbt's partial-parse cache)."""
    settings = home_settings(home)
    for leftover in (settings.build_db_path, settings.dbt_target_dir):
        if leftover.is_dir():
            shutil.rmtree(leftover)
    shutil.copy2(source.build_db_path, settings.build_db_path)
    wal = source.build_db_path.with_name(source.build_db_path.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, settings.build_db_path.with_name(wal.name))
    if source.dbt_target_dir.is_dir():
        shutil.copytree(source.dbt_target_dir, settings.dbt_target_dir)
    return settings
