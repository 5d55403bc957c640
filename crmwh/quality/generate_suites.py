"""Write the staging suites of ``expectations/staging/`` from the dbt staging models.

Run ``python -m crmwh.quality.generate_suites`` after the contracts (and so the generated
``dbt_project/models/staging/*/_*__models.yml``) change. The models' column tests are the
contract's rules under the staged column names, so the suites follow the same source of
truth; this module adds only what dbt's schema files do not say (value ranges, which
codes are critical, freshness and volume settings).

Per staging model, two suites:
- ``<model>.blocking``: required fields not null and key uniqueness on the whole table
  (staging keeps the latest valid version per key, so a duplicate is a pipeline bug),
  plus the codes the marts depend on (``CRITICAL_CODES``).
- ``<model>.warning``: other accepted codes, value ranges, freshness of ``updated_at``
  and the volume change against the previous night.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from crmwh.resources import dbt_project_dir, expectations_dir

# Codes whose unknown values would silently corrupt marts: a failure blocks the night.
CRITICAL_CODES = {
    ("stg_erp__orders", "status"),
    ("stg_helpdesk__tickets", "status"),
    ("stg_helpdesk__tickets", "priority"),
}

# (min, max) per staged column; None = unbounded. Amounts may be negative (refunds) where not listed.
RANGES: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("stg_byod__orders", "amount"): (-1e9, 1e9),
    ("stg_byod__orders", "cost"): (0, 1e9),
    ("stg_callcenter__calls", "duration_seconds"): (0, 86_400),
    ("stg_crm__campaigns", "budget"): (0, None),
    ("stg_crm__campaigns", "actual_cost"): (0, None),
    ("stg_crm__interactions", "duration_seconds"): (0, 86_400),
    ("stg_crm__web_visits", "pages_viewed"): (0, 10_000),
    ("stg_erp__commissions", "rate"): (0, 1),
    ("stg_erp__opportunities", "probability"): (0, 1),
    ("stg_erp__opportunities", "amount"): (0, None),
    ("stg_erp__order_lines", "quantity"): (-100_000, 100_000),
    ("stg_erp__order_lines", "unit_price"): (0, None),
    ("stg_erp__order_lines", "discount_amount"): (0, None),
    ("stg_erp__payments", "amount"): (-1e9, 1e9),
    ("stg_erp__products", "list_price"): (0, None),
    ("stg_erp__products", "unit_cost"): (0, None),
    ("stg_erp__quotas", "quota_amount"): (0, None),
    ("stg_erp__quote_lines", "quantity"): (0, 100_000),
    ("stg_erp__quote_lines", "unit_price"): (0, None),
    ("stg_erp__quote_lines", "discount_pct"): (0, 100),
    ("stg_helpdesk__field_visits", "labour_minutes"): (0, 24 * 60),
    ("stg_helpdesk__satisfaction_ratings", "score"): (1, 5),
    ("stg_helpdesk__service_contracts", "annual_fee"): (0, None),
    ("stg_helpdesk__service_contracts", "sla_response_hours"): (0, 24 * 365),
    ("stg_helpdesk__ticket_events", "touch_minutes"): (0, 24 * 60),
}

FRESHNESS_DAYS = 7
VOLUME = {"max_drop": 0.9, "max_rise": 5.0, "min_previous_rows": 100}


def _tests(column: dict[str, Any]) -> dict[str, Any]:
    tests: dict[str, Any] = {}
    for test in column.get("data_tests") or []:
        if isinstance(test, str):
            tests[test] = {}
        else:
            (name, body), = test.items()
            tests[name] = body or {}
    return tests


def _expectation(kind: str, notes: str | None = None, **kwargs: Any) -> dict[str, Any]:
    expectation: dict[str, Any] = {"type": kind, "kwargs": kwargs}
    if notes:
        expectation["meta"] = {"scope": "table"} if notes == "table" else {"notes": notes}
    return expectation


def suites_for_model(model: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(blocking suite, warning suite) as JSON-ready dicts for one staging model."""
    name = model["name"]
    system, entity = name.removeprefix("stg_").split("__", 1)
    blocking: list[dict[str, Any]] = []
    warning: list[dict[str, Any]] = []
    columns = {column["name"]: column for column in model.get("columns") or []}
    for column_name, column in columns.items():
        tests = _tests(column)
        if "not_null" in tests:
            blocking.append(_expectation("expect_column_values_to_not_be_null", column=column_name))
        if "unique" in tests:
            blocking.append(_expectation("expect_column_values_to_be_unique", "table", column=column_name))
        if "accepted_values" in tests:
            values = tests["accepted_values"].get("arguments", {}).get("values", [])
            target = blocking if (name, column_name) in CRITICAL_CODES else warning
            target.append(_expectation("expect_column_values_to_be_in_set", column=column_name, value_set=list(values)))
        if (name, column_name) in RANGES:
            low, high = RANGES[(name, column_name)]
            warning.append(_expectation("expect_column_values_to_be_between", column=column_name,
                                        min_value=low, max_value=high))
    for test in model.get("data_tests") or []:
        if isinstance(test, dict) and "crmwh_unique_combination" in test:
            key = test["crmwh_unique_combination"]["arguments"]["columns"]
            blocking.append(_expectation("expect_compound_columns_to_be_unique", "table", column_list=list(key)))
    meta_base = {"table": f"staging.{name}", "rows": "night", "generated_by": "crmwh.quality.generate_suites"}
    warning_meta: dict[str, Any] = dict(meta_base, severity="warning")
    if "updated_at" in columns:
        warning_meta["freshness_days"] = FRESHNESS_DAYS
        warning.append(_expectation(
            "expect_column_max_to_be_between",
            f"freshness: the night's newest updated_at lies within {FRESHNESS_DAYS} days before the night "
            "(not checked on a table's initial load, which carries history) and not after the next day",
            column="updated_at", min_value={"$PARAMETER": "freshness_min"}, max_value={"$PARAMETER": "freshness_max"},
        ))
    warning_meta["raw_table"] = f"raw.{system}__{entity}"
    warning_meta["volume"] = dict(VOLUME)
    return (
        {"name": f"{name}.blocking", "expectations": blocking, "meta": dict(meta_base, severity="blocking")},
        {"name": f"{name}.warning", "expectations": warning, "meta": warning_meta},
    )


def staging_models(project: Path | None = None) -> list[dict[str, Any]]:
    models: list[dict[str, Any]] = []
    for path in sorted((project or dbt_project_dir()).glob("models/staging/*/_*__models.yml")):
        models += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []
    return sorted(models, key=lambda model: model["name"])


def write_staging_suites(out: Path | None = None, project: Path | None = None) -> list[Path]:
    """(Re)write ``<out>/staging/*.json``; returns the files written. Stale generated files are removed."""
    folder = (out or expectations_dir()) / "staging"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for model in staging_models(project):
        for suite in suites_for_model(model):
            path = folder / f"{suite['name']}.json"
            path.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
            written.append(path)
    for path in folder.glob("*.json"):
        if path not in written and '"generated_by": "crmwh.quality.generate_suites"' in path.read_text(encoding="utf-8"):
            path.unlink()
    return written


if __name__ == "__main__":
    files = write_staging_suites(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"wrote {len(files)} suites")
