"""Expectation suites as files: ``expectations/<stage>/<suite>.json`` in GX 1.x suite JSON.

A suite file is what ``gx.ExpectationSuite(**json)`` accepts, plus crmwh's own keys in
``meta`` (GX keeps ``meta`` as it is), so the files stay loadable by plain GX:

| meta key        | meaning                                                                 |
|-----------------|-------------------------------------------------------------------------|
| severity        | ``blocking`` (a failure stops the night) or ``warning`` (recorded only)   |
| table           | ``schema.table`` validated                                              |
| rows            | ``night``: rows with ``_night`` = the night; ``as_of_date``: rows with  |
|                 | ``as_of_date`` = the night; ``all``: the whole table                    |
| raw_table       | the raw table the rows were loaded into (audit.load_ledger.raw_table)   |
| freshness_days  | sets the ``$PARAMETER``s ``freshness_min``/``freshness_max`` (see gates) |
| volume          | ``{"max_drop", "max_rise", "min_previous_rows"}``: compare the night's  |
|                 | loaded rows of ``raw_table`` with the previous night's                  |

An expectation whose own ``meta`` has ``"scope": "table"`` (key uniqueness) is run on
the whole table, reading only the columns it names, instead of on the night's rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmwh.errors import CrmwhError
from crmwh.resources import expectations_dir

STAGES = ("staging", "marts")
SEVERITIES = ("blocking", "warning")
ROW_SCOPES = ("night", "as_of_date", "all")


@dataclass(frozen=True)
class SuiteFile:
    """One suite file, read and checked; ``spec`` is the JSON as GX takes it."""

    path: Path
    spec: dict[str, Any]
    name: str
    severity: str
    table: str
    rows: str
    raw_table: str | None = None
    freshness_days: int | None = None
    volume: dict[str, Any] | None = None
    expectations: list[dict[str, Any]] = field(default_factory=list)

    def split(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(expectations on the selected rows, expectations on the whole table)."""
        row_level = [e for e in self.expectations if (e.get("meta") or {}).get("scope") != "table"]
        table_level = [e for e in self.expectations if (e.get("meta") or {}).get("scope") == "table"]
        return row_level, table_level


def load_suite(path: Path) -> SuiteFile:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CrmwhError(f"expectation suite {path}: cannot read it ({exc}); fix or remove the file") from None
    meta = spec.get("meta") or {}
    name = spec.get("name")
    severity = meta.get("severity")
    table = meta.get("table")
    rows = meta.get("rows", "all")
    if not name or severity not in SEVERITIES or not table or "." not in table or rows not in ROW_SCOPES:
        raise CrmwhError(
            f"expectation suite {path}: needs a name and meta.severity in {SEVERITIES}, "
            f"meta.table as schema.table and meta.rows in {ROW_SCOPES}"
        )
    if meta.get("volume") and not meta.get("raw_table"):
        raise CrmwhError(f"expectation suite {path}: meta.volume needs meta.raw_table")
    expectations = list(spec.get("expectations") or [])
    for expectation in expectations:
        if "type" not in expectation or "kwargs" not in expectation:
            raise CrmwhError(f"expectation suite {path}: every expectation needs 'type' and 'kwargs'")
    return SuiteFile(
        path=path,
        spec=spec,
        name=name,
        severity=severity,
        table=table,
        rows=rows,
        raw_table=meta.get("raw_table"),
        freshness_days=meta.get("freshness_days"),
        volume=meta.get("volume"),
        expectations=expectations,
    )


def load_suites(stage: str, directory: Path | None = None) -> list[SuiteFile]:
    """Every suite of a stage, sorted by file name."""
    if stage not in STAGES:
        raise CrmwhError(f"unknown gate stage {stage!r}: use one of {', '.join(STAGES)}")
    folder = (directory or expectations_dir()) / stage
    suites = [load_suite(path) for path in sorted(folder.glob("*.json"))]
    names = [suite.name for suite in suites]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CrmwhError(f"expectation suites in {folder}: duplicate names {', '.join(duplicates)}")
    return suites
