"""crm_nightly: land, load, reconcile each source system; dbt staging; gates; dbt warehouse; gates;
publish; report; finish (audit).

Thin by design: every task calls a function of ``crmwh.pipeline.steps`` that tests call directly.

Params: ``as_of_date`` (empty = the logical date) and ``scale`` (informational). ``begin`` waits
up to ``CRMWH_SOURCE_WAIT_SECONDS`` (default 0) for the night's landing folders, then fails, and
refuses a night older than the last published one unless that night was published before.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

from airflow.sdk import Asset, Param, dag, get_current_context, task, task_group

from crmwh.pipeline import steps
from crmwh.pipeline.notify import on_task_failure

RETRIES = int(os.environ.get("CRMWH_TASK_RETRIES", "2"))
# One DuckDB build file has one writer: every task runs in a one-slot pool, so parallel system
# tasks, and a backfill beside a scheduled run, take turns instead of failing on the file lock.
# Create it once: `airflow pools set crmwh_warehouse 1 "crmwh build database"` (docker-compose's
# airflow-init does). `airflow dags test` / `crmwh nightly` run tasks one by one and need no pool.
WAREHOUSE_POOL = os.environ.get("CRMWH_AIRFLOW_POOL", "crmwh_warehouse")
PUBLISHED_WAREHOUSE = Asset(name="crm_warehouse", uri="file:///crmwh/warehouse/crm.duckdb")


PARAMS = {
    "as_of_date": Param(
        None, type=["null", "string"], format="date",
        description="The night to build (YYYY-MM-DD); empty = the run's logical date.",
    ),
    "scale": Param(
        None, type=["null", "string"], enum=[None, "xs", "s", "m", "l"],
        description="Informational: the simulated data scale this run is expected to load "
                    "(`crmwh generate --scale` writes the extracts; the DAG never generates data).",
    ),
}


def _night_and_run() -> tuple[date, str]:
    """The night this run builds: the ``as_of_date`` param when given, else the logical date."""
    context = get_current_context()
    as_of = (context.get("params") or {}).get("as_of_date")
    return date.fromisoformat(as_of or context["ds"]), context["run_id"]


@dag(
    dag_id="crm_nightly",
    schedule=os.environ.get("CRMWH_SCHEDULE", "0 2 * * *"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["crmwh"],
    params=PARAMS,
    default_args={
        "pool": WAREHOUSE_POOL,
        "retries": RETRIES,
        "retry_delay": timedelta(seconds=float(os.environ.get("CRMWH_RETRY_DELAY_SECONDS", "60"))),
        "retry_exponential_backoff": True,
        "on_failure_callback": on_task_failure,
    },
    doc_md=__doc__,
)
def crm_nightly() -> None:
    @task(retries=0)
    def begin() -> dict:
        night, run_id = _night_and_run()
        return steps.begin_night(night=night, run_id=run_id)

    def source_system(system: str):
        @task_group(group_id=system)
        def ingest() -> None:
            @task(task_id="land")
            def land() -> dict:
                night, run_id = _night_and_run()
                return steps.land_system(system=system, night=night, run_id=run_id)

            @task(task_id="load_raw")
            def load_raw() -> dict:
                night, run_id = _night_and_run()
                return steps.load_system(system=system, night=night, run_id=run_id)

            @task(task_id="reconcile", retries=0)
            def reconcile() -> dict:
                night, run_id = _night_and_run()
                return steps.reconcile_system(system=system, night=night, run_id=run_id)

            land() >> load_raw() >> reconcile()

        return ingest()

    @task
    def load_other_systems() -> dict:
        night, run_id = _night_and_run()
        return steps.load_other_systems(night=night, run_id=run_id)

    def dbt_layer(layer: str):
        @task(task_id=f"dbt_{layer}", retries=min(RETRIES, 1))
        def build() -> dict:
            night, run_id = _night_and_run()
            return steps.build_models(layer=layer, night=night, run_id=run_id)

        return build()

    def quality_gate(stage: str):
        @task(task_id=f"gates_{stage}", retries=0)
        def gate() -> dict:
            night, run_id = _night_and_run()
            return steps.quality_gates(stage=stage, night=night, run_id=run_id)

        return gate()

    @task(outlets=[PUBLISHED_WAREHOUSE])
    def publish() -> dict:
        night, run_id = _night_and_run()
        return steps.publish_warehouse(night=night, run_id=run_id)

    @task(retries=0)
    def report() -> dict:
        night, run_id = _night_and_run()
        return steps.write_report(night=night, run_id=run_id)

    @task(trigger_rule="all_done", retries=0)
    def finish() -> dict:
        night, run_id = _night_and_run()
        return steps.finish_night(night=night, run_id=run_id)

    started = begin()
    ingested = [source_system(system) for system in steps.pipeline_systems()] + [load_other_systems()]
    staged = dbt_layer("staging")
    started >> ingested
    ingested >> staged
    staged >> quality_gate("staging") >> dbt_layer("warehouse") >> quality_gate("marts") >> publish() >> report() >> finish()


nightly_dag = crm_nightly()
