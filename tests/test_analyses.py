"""Every question of DOMAIN.md section 4 (Q1-Q27) has one analysis that answers it on the published warehouse.

For each number there must be exactly one ``dbt_project/analyses/qNN_<topic>.sql`` whose first line is
``-- QN: <the question>``. dbt compiles all analyses against the published xs warehouse of
``published_warehouse`` (a copy: dbt opens its database read-write), and each compiled query, run in
DuckDB on the published file read-only, must return at least one row with no column null in every row.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from crmwh.config import Settings
from crmwh.resources import dbt_project_dir

try:  # tests/ is on sys.path when it has no __init__.py (pytest's default import mode)
    from support.warehouse_fixture import published_warehouse  # noqa: F401  (a fixture)
except ImportError:
    from tests.support.warehouse_fixture import published_warehouse  # noqa: F401

ANALYSES = dbt_project_dir() / "analyses"
QUESTIONS = range(1, 28)
FIRST_LINE = re.compile(r"^-- Q0*(\d+): \S.{10,}")


def _files(number: int) -> list[Path]:
    return sorted(ANALYSES.glob(f"q{number:02d}_*.sql"))


@pytest.fixture(scope="module")
def compiled(published_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """Folder of the compiled analyses (dbt's target/compiled/<project>/analyses)."""
    work = tmp_path_factory.mktemp("analyses")
    database = work / published_warehouse.build_db_path.name  # same catalog name as the published file
    shutil.copyfile(published_warehouse.warehouse_path, database)
    env = {**os.environ, "CRMWH_BUILD_DB": str(database), "DBT_TARGET_PATH": str(work / "target"),
           "DBT_LOG_PATH": str(work / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("CRMWH_DBT_TARGET", None)
    project = dbt_project_dir()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "compile", "--select", "resource_type:analysis",
         "--project-dir", str(project), "--profiles-dir", str(project), "--target", "duckdb"],
        env=env, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    return work / "target" / "compiled" / "crmwh" / "analyses"


@pytest.mark.parametrize("number", QUESTIONS)
def test_one_analysis_per_question(number: int) -> None:
    files = _files(number)
    assert len(files) == 1, f"Q{number}: expected one analyses/q{number:02d}_<topic>.sql, found {files}"
    first = files[0].read_text().splitlines()[0]
    match = FIRST_LINE.match(first)
    assert match and int(match.group(1)) == number, f"{files[0].name}: first line must be '-- Q{number}: <question>'"


def test_no_stray_analysis_files() -> None:
    stray = [p.name for p in ANALYSES.glob("*.sql") if not re.fullmatch(r"q\d{2}_[a-z0-9_]+\.sql", p.name)
             or not 1 <= int(p.name[1:3]) <= 27]
    assert stray == []


@pytest.mark.parametrize("number", QUESTIONS)
def test_analysis_answers_on_the_warehouse(number: int, compiled: Path, published_warehouse: Settings) -> None:  # noqa: F811
    files = _files(number)
    assert len(files) == 1, f"Q{number}: no single analysis file"
    sql_path = compiled / files[0].name
    assert sql_path.is_file(), f"{files[0].name} was not compiled (disabled on DuckDB?)"
    sql = sql_path.read_text()
    assert FIRST_LINE.match(sql.splitlines()[0]), "the compiled query must still start with its question"
    con = duckdb.connect(str(published_warehouse.warehouse_path), read_only=True)
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    assert rows, f"{files[0].name} returned no rows"
    all_null = [name for i, name in enumerate(columns) if all(row[i] is None for row in rows)]
    assert all_null == [], f"{files[0].name}: columns null in every row: {all_null}"
