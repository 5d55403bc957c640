"""Run GX suites on pandas DataFrames in an ephemeral context, and build per-night data docs.

One ``GxSession`` per gate stage: an in-memory GX context with one pandas data source,
one DataFrame asset and validation definition per suite, and a data docs site rooted in
the folder given (static HTML, rebuilt from this session's results).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from crmwh.errors import CrmwhError
from crmwh.quality.results import GateResult

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402  (reads GX_ANALYTICS_ENABLED on import)
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.execution_engine import pandas_execution_engine  # noqa: E402

# GX marks every DataFrame batch under HASH_THRESHOLD bytes (1 GB) with an md5 of pandas'
# row hashes ("pandas_data_fingerprint"), a batch marker nothing here reads: at scale l it
# was three quarters of the staging gates' time (15.9 of 20.5 s for 9M campaign members).
# A threshold of 0 skips it for every batch, as GX already does for larger frames.
# (great-expectations is pinned; tests/test_quality_gates.py checks the marker is gone.)
pandas_execution_engine.HASH_THRESHOLD = 0

DOCS_SITE = "crmwh_night"


def expectation_label(config: dict[str, Any]) -> str:
    """``type(column)`` or ``type(col_a, col_b)``: short and stable, for audit rows and messages."""
    kwargs = config.get("kwargs") or {}
    columns = kwargs.get("column_list") or ([kwargs["column"]] if "column" in kwargs else [])
    return f"{config['type']}({', '.join(map(str, columns))})" if columns else str(config["type"])


def _exception_message(info: Any) -> str | None:
    """GX puts one exception dict on the result, or one per failed metric: find a raised one."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        lines = str(info.get("exception_message") or "exception").strip().splitlines()
        return lines[0] if lines else "exception"
    for value in info.values():
        message = _exception_message(value)
        if message:
            return message
    return None


def _detail(result: dict[str, Any], exception: Any, success: bool) -> str | None:
    message = _exception_message(exception)
    if message:
        return f"error: {message}"
    parts = []
    if "observed_value" in result:
        parts.append(f"observed {result['observed_value']}")
    shown = [value for value in result.get("partial_unexpected_list") or [] if value == value and value is not None]
    if not success and shown:  # nulls (None, NaN) say nothing a not-null expectation's name does not
        parts.append(f"e.g. {', '.join(repr(value) for value in shown[:5])}")
    if "element_count" in result:
        parts.append(f"{result['element_count']} rows")
    return "; ".join(parts) or None


class GxSession:
    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )

    def validate(
        self,
        name: str,
        severity: str,
        spec: dict[str, Any],
        expectations: list[dict[str, Any]],
        frame: pd.DataFrame,
        parameters: dict[str, Any],
    ) -> list[GateResult]:
        """Validate ``frame`` against ``expectations`` as GX suite ``name``; one GateResult each."""
        if not expectations:
            return []
        built = gx.ExpectationSuite(name=name, expectations=expectations, meta=spec.get("meta") or {})
        if len(built.expectations) != len(expectations):  # GX logs and drops what it cannot build
            known = {expectation.expectation_type for expectation in built.expectations}
            dropped = sorted({e["type"] for e in expectations} - known) or ["(invalid arguments)"]
            raise CrmwhError(f"suite {name}: GX cannot build expectation(s) {', '.join(dropped)}")
        suite = self.context.suites.add(built)
        # A pandas data source's execution engine keeps every batch's DataFrame for the data
        # source's lifetime; one source per validation, deleted after it, lets each go.
        source = self.context.data_sources.add_pandas(f"crmwh__{name}")
        try:
            batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("batch")
            definition = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite))
            run = definition.run(
                batch_parameters={"dataframe": frame}, expectation_parameters=parameters, result_format="SUMMARY"
            )
        finally:
            self.context.data_sources.delete(source.name)
        results = []
        for item in run.results:
            config = item.expectation_config.to_json_dict()
            success = bool(item.success)
            result = dict(item.result or {})
            results.append(
                GateResult(
                    suite=name,
                    expectation=expectation_label(config),
                    severity=severity,
                    success=success,
                    unexpected_count=result.get("unexpected_count"),
                    detail=_detail(result, item.exception_info, success),
                )
            )
        return results

    def build_docs(self) -> Path:
        """Write the static HTML site; returns its index.html."""
        if self.docs_dir.exists():
            shutil.rmtree(self.docs_dir)
        self.docs_dir.mkdir(parents=True)
        self.context.build_data_docs(site_names=[DOCS_SITE])
        return self.docs_dir / "index.html"
