"""Locate the folders that ship with crmwh (dbt project, DAGs, expectation suites).

An installed wheel carries them under ``crmwh/_bundled``; a source checkout
(editable install or tests run from the repository) has them at the top level.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` (``dbt_project``, ``dags`` or ``expectations``)."""
    for candidate in (_PACKAGE_DIR / "_bundled" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"crmwh resource folder {name!r} not found next to {_PACKAGE_DIR}")


def dbt_project_dir() -> Path:
    return resource_dir("dbt_project")


def dags_dir() -> Path:
    return resource_dir("dags")


def expectations_dir() -> Path:
    return resource_dir("expectations")
