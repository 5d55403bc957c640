"""Run the ``crm_nightly`` DAG in-process with ``dag.test()``, the way ``airflow dags test`` does.

Airflow reads its configuration when first imported, so the environment is set
before any ``airflow`` import: a private ``AIRFLOW_HOME`` under the work folder
with a SQLite metadata database, and the DAGs folder shipped with crmwh.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from crmwh.config import Settings
from crmwh.errors import CrmwhError
from crmwh.resources import dags_dir

DAG_ID = "crm_nightly"


def airflow_environment(settings: Settings) -> dict[str, str]:
    home = settings.airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "CRMWH_HOME": str(settings.home),
        "CRMWH_LANDING_DIR": str(settings.landing_dir),
        "CRMWH_WAREHOUSE": str(settings.warehouse_path),
        "CRMWH_WORK_DIR": str(settings.work_dir),
    }


def prepare_airflow(settings: Settings) -> None:
    """Point Airflow at our home and make sure its metadata database is migrated."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    for key, value in airflow_environment(settings).items():
        if key.startswith("AIRFLOW__LOGGING") and key in os.environ:
            continue
        os.environ[key] = value
    import airflow  # noqa: F401  (reads the configuration set above)
    from airflow import settings as airflow_settings
    from airflow.utils import db

    marker = settings.airflow_home / ".migrated"
    if not marker.exists():
        db.initdb()
        marker.write_text("ok\n")
    if airflow_settings.Session is None:
        airflow_settings.configure_orm()


def load_dag() -> Any:
    path = dags_dir() / f"{DAG_ID}.py"
    spec = importlib.util.spec_from_file_location(f"crmwh_dag_{DAG_ID}", path)
    if spec is None or spec.loader is None:
        raise CrmwhError(f"cannot load the DAG file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for value in vars(module).values():
        if getattr(value, "dag_id", None) == DAG_ID:
            return value
    raise CrmwhError(f"{path} defines no DAG {DAG_ID!r}")


@contextmanager
def output_to(log_path: Path | None) -> Iterator[None]:
    """Send everything written to stdout/stderr (Airflow's task logs included) to ``log_path``."""
    if log_path is None:
        yield
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = os.dup(1), os.dup(2)
    os.dup2(target, 1)
    os.dup2(target, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


def run_night(settings: Settings, night: date, log_path: Path | None = None) -> str:
    """Run the DAG for ``night``; returns the final run state (``success`` or ``failed``).

    With ``log_path``, Airflow's own output (task logs, tracebacks of failed tasks)
    goes to that file instead of the terminal.
    """
    with output_to(log_path):
        prepare_airflow(settings)
        logging.getLogger("airflow").setLevel(logging.WARNING)
        dag = load_dag()
        run = dag.test(logical_date=datetime(night.year, night.month, night.day, tzinfo=UTC))
    return str(getattr(run.state, "value", run.state))
