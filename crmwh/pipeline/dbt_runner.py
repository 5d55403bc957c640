"""Run dbt against the build warehouse and summarise what it did from ``run_results.json``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from crmwh.config import Settings
from crmwh.errors import CrmwhError
from crmwh.resources import dbt_project_dir
from ingestion.warehouse import MEMORY_LIMIT_VARIABLE, memory_limit

# The night dbt builds as of (read by the macro crmwh_as_of_date_value; var as_of_date overrides it).
AS_OF_DATE_VARIABLE = "CRMWH_AS_OF_DATE"
# How DuckDB reports a fault of its own (a bug, not the data or the SQL): the node's error, then
# "database has been invalidated" for every later node of that dbt process. A new process can
# build them (DuckDB 2.0.0's dictionary-surviving join fails this way now and then: docs/benchmarks.md).
ENGINE_FAULT_MARKERS = ("INTERNAL Error", "database has been invalidated")
# Node statuses of a failed node; `dbt retry` runs those and the skipped ones again.
FAILED_STATUSES = ("error", "fail", "runtime error")
RETRIED_STATUSES = (*FAILED_STATUSES, "skipped")


@dataclass
class DbtResult:
    command: list[str]
    returncode: int
    statuses: Counter[str] = field(default_factory=Counter)  # "model:success" -> count
    failures: list[str] = field(default_factory=list)  # "<node>: <first line of its message>"
    elapsed_seconds: float = 0.0
    failure_messages: list[str] = field(default_factory=list)  # the failed nodes' whole messages

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def count(self, resource_type: str, status: str | None = None) -> int:
        return sum(
            n for key, n in self.statuses.items()
            if key.split(":")[0] == resource_type and (status is None or key.split(":")[1] == status)
        )

    @property
    def engine_fault(self) -> str:
        """The line where DuckDB reports a fault of its own (ENGINE_FAULT_MARKERS), or ''.

        Running the failed nodes again in a new process may then succeed.
        """
        return next((line.strip() for message in self.failure_messages for line in message.splitlines()
                     if any(marker in line for marker in ENGINE_FAULT_MARKERS)), "")

    def then(self, retry: DbtResult) -> DbtResult:
        """The outcome once ``retry`` ran this run's failed and skipped nodes again (``dbt retry``),
        or everything again when this run left no results."""
        kept = Counter({key: n for key, n in self.statuses.items() if key.split(":")[1] not in RETRIED_STATUSES})
        return DbtResult(retry.command, retry.returncode, kept + retry.statuses, retry.failures,
                         self.elapsed_seconds + retry.elapsed_seconds, retry.failure_messages)

    def summary(self) -> str:
        return (
            f"{self.count('model', 'success')} models built, {self.count('test', 'pass')} tests passed, "
            f"{self.count('test', 'warn')} warned, {len(self.failures)} failed"
        )


def dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbt")
    if not found:
        raise CrmwhError("dbt is not installed in this environment: run `pip install .` in the crmwh checkout")
    return found


def dbt_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CRMWH_BUILD_DB": str(settings.build_db_path),
            "DBT_TARGET_PATH": str(settings.dbt_target_dir),
            "DBT_LOG_PATH": str(settings.dbt_log_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_PARTIAL_PARSE": "true",
        }
    )
    # The debug file log writes every statement of ~1,000 nodes (~15% of a small night);
    # node results stay in the log and run_results.json. DBT_LOG_LEVEL_FILE=debug brings the SQL back.
    env.setdefault("DBT_LOG_LEVEL_FILE", "info")
    env[MEMORY_LIMIT_VARIABLE] = memory_limit()
    env.update(extra or {})
    return env


# Which project dir the partial-parse cache in a target dir was made from (written beside it).
PARSED_PROJECT_MARKER = "crmwh_parsed_project_dir.txt"


def forget_parse_of_another_project(target_dir: Path, project: Path) -> bool:
    """Delete dbt's partial-parse cache when it was made from another project dir; True if deleted.

    dbt keeps absolute paths in the cache (a seed's file among them) and does not always notice
    that the project moved: a checkout or install in a new place then loads seeds from the old
    one ("No files found that match the pattern .../seeds/fx_rates.csv"), or from a stale copy.
    """
    cache = target_dir / "partial_parse.msgpack"
    marker = target_dir / PARSED_PROJECT_MARKER
    current = str(project.resolve())
    forgotten = False
    if cache.exists() and (not marker.is_file() or marker.read_text() != current):
        cache.unlink()
        forgotten = True
    target_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(current)
    return forgotten


def _read_run_results(target_dir: Path) -> tuple[Counter[str], list[str], float, list[str]]:
    path = target_dir / "run_results.json"
    if not path.is_file():
        return Counter(), [], 0.0, []
    data = json.loads(path.read_text())
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    messages: list[str] = []
    for result in data.get("results", []):
        unique_id = result.get("unique_id", "")
        resource_type = unique_id.split(".", 1)[0]
        status = str(result.get("status"))
        statuses[f"{resource_type}:{status}"] += 1
        if status in FAILED_STATUSES:
            message = (result.get("message") or "").strip()
            failures.append(f"{unique_id}: {message.splitlines()[0] if message else status}")
            messages.append(message)
    return statuses, failures, float(data.get("elapsed_time", 0.0)), messages


def run_dbt(
    settings: Settings,
    args: Sequence[str],
    *,
    target: str = "duckdb",
    as_of: date | None = None,
    extra_env: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DbtResult:
    """Run ``dbt <args>`` on the shipped project, streaming its log lines to ``progress``.

    ``as_of`` is the night the models are built as of (macro crmwh_as_of_date_value). It goes
    in the environment, not ``--vars``: dbt re-parses the whole project when --vars change.
    """
    if as_of is not None:
        extra_env = {AS_OF_DATE_VARIABLE: as_of.isoformat(), **(extra_env or {})}
    project = dbt_project_dir()
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    forget_parse_of_another_project(settings.dbt_target_dir, project)
    command = [dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(project),
               "--target", target]
    if list(args[:1]) != ["retry"]:  # `dbt retry` reads the previous run's results
        (settings.dbt_target_dir / "run_results.json").unlink(missing_ok=True)
    with subprocess.Popen(command, env=dbt_env(settings, extra_env), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, cwd=str(settings.work_dir)) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip()
            tail = (tail + [line])[-40:]
            if progress:
                progress(line)
    statuses, failures, elapsed, messages = _read_run_results(settings.dbt_target_dir)
    result = DbtResult(command, proc.returncode, statuses, failures, elapsed, messages)
    if proc.returncode != 0 and not failures:
        # dbt stopped before writing its results (e.g. DuckDB invalidated the database under it): its output says why.
        result.failures.append(next((l for l in reversed(tail) if "error" in l.lower()), tail[-1] if tail else "dbt failed"))
        result.failure_messages.append("\n".join(tail))
    return result
