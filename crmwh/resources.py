"""Locate the folders that ship with crmwh (dbt project, DAGs, expectation suites).

An installed wheel carries them under ``crmwh/_bundled``; a source checkout
(editable install or tests run from the repository) has them at the top level.
"""

from __future__ import annotations

import os
from pathlib import Path

from crmwh.errors import CrmwhError

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` (``dbt_project``, ``dags`` or ``expectations``)."""
    for candidate in (_PACKAGE_DIR / "_bundled" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"crmwh resource folder {name!r} not found next to {_PACKAGE_DIR}")


def dbt_project_dir() -> Path:
    """The dbt project the night builds: ``$CRMWH_DBT_PROJECT_DIR`` (a team's own copy or
    extension of the shipped project) or the one that ships with crmwh."""
    override = os.environ.get("CRMWH_DBT_PROJECT_DIR")
    if override:
        path = Path(override).expanduser().resolve()
        if not (path / "dbt_project.yml").is_file():
            raise CrmwhError(f"CRMWH_DBT_PROJECT_DIR={override}: no dbt_project.yml there; unset it or fix the path")
        return path
    return resource_dir("dbt_project")


def dags_dir() -> Path:
    return resource_dir("dags")


def expectations_dir() -> Path:
    return resource_dir("expectations")
