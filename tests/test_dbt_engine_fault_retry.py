"""A dbt layer that DuckDB fails internally is finished by `dbt retry` in a new process.

DuckDB 2.0.0's dictionary-surviving hash join now and then stops a build with an
``INTERNAL Error`` and invalidates the database for the rest of that dbt process
(docs/benchmarks.md); the same nodes build in a new process. The fault cannot be caused on
demand, so a real dbt model (in a copy of the shipped project, selected through
CRMWH_DBT_PROJECT_DIR) fails once with DuckDB's wording for it; a failure in other words is
not retried.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from crmwh.errors import CrmwhError
from crmwh.pipeline import audit, steps
from crmwh.resources import dbt_project_dir
from ingestion.warehouse import connect, ensure_contract_raw_tables

try:
    from support.nights import home_settings
except ImportError:
    from tests.support.nights import home_settings

NIGHT = date(2026, 11, 2)
RUN_ID = "test_engine_fault"

# Fails on its first run only: a hook outside the model's transaction turns the armed row into
# a "fire" flag and disarms, so the model's rollback does not re-arm it.
FAILS_ONCE = """
{{ config(materialized='table', pre_hook=[{"sql": "create or replace table audit.fault_fired as
    select count(*) > 0 as fire from audit.fault_armed; delete from audit.fault_armed", "transaction": false}]) }}
select case when (select fire from audit.fault_fired) then error('MESSAGE') else 1 end as built
"""


def _project_with_failing_model(tmp_path: Path, message: str) -> Path:
    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "simhome"))
    (project / "models" / "audit" / "injected_fault.sql").write_text(FAILS_ONCE.replace("MESSAGE", message))
    return project


def _armed_home(tmp_path: Path):
    settings = home_settings(tmp_path / "home")
    con = connect(settings.build_db_path)
    try:
        ensure_contract_raw_tables(con)
        audit.start_night(con, NIGHT, RUN_ID)
        con.execute("create table audit.fault_armed as select 1 as armed")
    finally:
        con.close()
    return settings


@pytest.mark.slow
def test_an_engine_fault_is_retried_and_the_layer_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    settings = _armed_home(tmp_path)
    monkeypatch.setenv("CRMWH_DBT_PROJECT_DIR",
                       str(_project_with_failing_model(tmp_path, "INTERNAL Error: simulated engine fault")))
    lines: list[str] = []
    result = steps.build_models(layer="staging", night=NIGHT, run_id=RUN_ID, settings=settings,
                                progress=lines.append)
    assert "run again after a DuckDB internal error: " in result["detail"]
    assert any("running the failed and skipped nodes again" in line for line in lines)
    con = duckdb.connect(str(settings.build_db_path), read_only=True)
    try:
        assert con.execute("select built from audit.injected_fault").fetchall() == [(1,)]
        step = con.execute("select status, detail from audit.night_steps where step = 'dbt:staging'").fetchall()
    finally:
        con.close()
    # Every model of the layer counted once: those the first run built, plus those the retry ran.
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    layer_models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"
                    and node["original_file_path"].startswith(("models/staging/", "models/quarantine/", "models/audit/"))]
    assert result["models"] == len(layer_models)
    retried = json.loads((settings.dbt_target_dir / "run_results.json").read_text())["results"]
    assert "model.crmwh.injected_fault" in {node["unique_id"] for node in retried}
    assert len([node for node in retried if node["unique_id"].startswith("model.")]) < len(layer_models)
    assert step[-1][0] == "success"


@pytest.mark.slow
def test_a_failure_in_other_words_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    settings = _armed_home(tmp_path)
    monkeypatch.setenv("CRMWH_DBT_PROJECT_DIR", str(_project_with_failing_model(tmp_path, "bad data")))
    lines: list[str] = []
    with pytest.raises(CrmwhError, match="injected_fault"):
        steps.build_models(layer="staging", night=NIGHT, run_id=RUN_ID, settings=settings, progress=lines.append)
    assert not any("again in a new process" in line for line in lines)
