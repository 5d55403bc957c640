"""Where the incremental staging layer starts (crmwh.pipeline.staging_state)."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb

from crmwh.pipeline.staging_state import loaded_since, record_staging_build, staging_definition
from crmwh.resources import dbt_project_dir


def test_the_definition_follows_contracts_and_staging_macros_only(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    first = staging_definition(project)
    assert first == staging_definition(project)

    # Descriptions and tests of the staging models do not change what a raw row becomes.
    models_yml = project / "models/staging/erp/_erp__models.yml"
    models_yml.write_text(models_yml.read_text() + "\n# a comment\n")
    marts_sql = next((project / "models/marts").rglob("*.sql"))
    marts_sql.write_text(marts_sql.read_text() + "\n-- a comment\n")
    assert staging_definition(project) == first

    # A contract (the generated sources) or a staging macro does.
    sources = project / "models/staging/erp/_erp__sources.yml"
    sources.write_text(sources.read_text().replace("required: true", "required: false", 1))
    second = staging_definition(project)
    assert second != first
    macro = project / "macros/crmwh_stage.sql"
    macro.write_text(macro.read_text() + "\n")
    assert staging_definition(project) not in (first, second)


def test_staging_starts_after_the_last_build_with_the_same_definition(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    try:
        assert loaded_since(con, "a") is None  # nothing built yet: rebuild in full
        record_staging_build(con, "a", date(2026, 11, 1), "run-1", full_refresh=True,
                             started_at=datetime(2026, 11, 2, 1, 0), finished_at=datetime(2026, 11, 2, 1, 5))
        record_staging_build(con, "a", date(2026, 11, 2), "run-2", full_refresh=False,
                             started_at=datetime(2026, 11, 3, 1, 0), finished_at=datetime(2026, 11, 3, 1, 1))
        assert loaded_since(con, "a") == datetime(2026, 11, 3, 1, 0)
        assert loaded_since(con, "b") is None  # a new definition: rebuild in full
    finally:
        con.close()
