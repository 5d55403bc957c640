"""Integrated customer identity end to end: simulated xs data, the real loader, a real dbt build.

Night 1 is loaded and `dbt build --select +dim_customer +bridge_customer_source_id` runs;
then night 2 is loaded (with one extra ERP customer record carrying one customer's
e-mail and another customer's phone, i.e. evidence that they are one) and the build
runs again, then once more without new data. The tests read what dbt wrote:
- precision/recall of the resolution against the simulator's truth (_truth/identities.parquet);
- stable keys: every night-1 source id keeps its customer_key, except the ids of the
  younger of the two merged customers, whose key is retired into the older one;
- a re-run of the same night issues no key and changes no assignment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from crmwh.config import Settings
from crmwh.identity.evaluate import IdentityScore, main as evaluate_main, score_database
from crmwh.pipeline.dbt_runner import run_dbt
from crmwh.simulator.generate import generate
from ingestion.night import load_night
from ingestion.warehouse import ensure_contract_raw_tables

try:  # tests/ is on sys.path when it has no __init__.py (pytest's default import mode)
    from support.identity_merge import MERGER_ID, add_merging_record
except ImportError:  # tests/ became a package
    from tests.support.identity_merge import MERGER_ID, add_merging_record

# the identity models and their parents; staging's own tests are test_dbt_staging's business
SELECT = ["--select", "+dim_customer", "+bridge_customer_source_id", "+int_identity__key_lineage",
          "--indirect-selection", "cautious", "--exclude", "resource_type:test,path:models/staging"]
# a re-run: the identity models only (their parents are views, already there)
RERUN = ["run", "--select", "path:models/intermediate/identity", "path:models/core/identity"]
BRIDGE_SQL = "select source_system, source_entity, source_id, customer_key from core.bridge_customer_source_id"


@dataclass
class Run:
    """The state after each build of the identity models."""

    settings: Settings
    bridge_night1: pd.DataFrame
    bridge_night2: pd.DataFrame
    keys_night2: pd.DataFrame
    assignments_night2: int
    older: str          # customer_key that must survive the merge
    younger: str        # customer_key that must be retired into it
    score_night1: IdentityScore
    score_night2: IdentityScore
    keys_rerun: pd.DataFrame
    assignments_rerun: int
    bridge_rerun: pd.DataFrame


def _frame(settings: Settings, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(settings.build_db_path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _load(settings: Settings, night: dt.date) -> None:
    con = duckdb.connect(str(settings.build_db_path))
    try:
        ensure_contract_raw_tables(con)
        load_night(con, settings.landing_dir, night)
    finally:
        con.close()


def _build(settings: Settings, args: list[str] | None = None) -> None:
    result = run_dbt(settings, args or ["build", *SELECT])
    assert result.ok, "\n".join(result.failures)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = tmp_path_factory.mktemp("identity_home")
    settings = Settings(home=home, landing_dir=home / "landing", warehouse_path=home / "warehouse" / "crm.duckdb",
                        work_dir=home / "work")
    settings.ensure_dirs()
    generated = generate("xs", 2, settings.landing_dir)
    night1, night2 = generated.start, generated.start + dt.timedelta(days=1)

    _load(settings, night1)
    _build(settings)
    bridge1 = _frame(settings, BRIDGE_SQL)
    score1 = score_database(settings.build_db_path, settings.landing_dir)

    older, younger = add_merging_record(settings.build_db_path, settings.landing_dir, night2)
    _load(settings, night2)
    _build(settings)
    bridge2 = _frame(settings, BRIDGE_SQL)
    keys2 = _frame(settings, "select * from staging.int_identity__customer_keys")
    assignments2 = int(_frame(settings, "select count(*) as n from staging.int_identity__key_assignments")["n"][0])
    score2 = score_database(settings.build_db_path, settings.landing_dir)

    _build(settings, RERUN)  # the same night again
    return Run(settings, bridge1, bridge2, keys2, assignments2, older, younger, score1, score2,
               _frame(settings, "select * from staging.int_identity__customer_keys"),
               int(_frame(settings, "select count(*) as n from staging.int_identity__key_assignments")["n"][0]),
               _frame(settings, BRIDGE_SQL))


@pytest.mark.slow
def test_matching_is_precise_and_finds_most_true_pairs(run: Run) -> None:
    for score in (run.score_night1, run.score_night2):
        print(score.report())
        assert score.source_ids > 3000
        assert score.precision >= 0.95, score.report()
        assert score.recall >= 0.85, score.report()
    # every rule is explainable and the main ones fire on this data
    reasons = run.score_night2.links_by_reason
    for reason in ("email", "phone", "email_domain", "website_domain", "name+company", "company_name+city", "contact_account"):
        assert reasons.get(reason, 0) > 0, reasons


@pytest.mark.slow
def test_every_source_id_keeps_its_key_unless_its_customer_merged(run: Run) -> None:
    ids = ["source_system", "source_entity", "source_id"]
    both = run.bridge_night1.merge(run.bridge_night2, on=ids, suffixes=("_1", "_2"), validate="one_to_one")
    assert len(both) == len(run.bridge_night1), "a night-1 source id vanished from the bridge"
    changed = both[both["customer_key_1"] != both["customer_key_2"]]
    # only the younger customer of the injected merge changed key, and onto the older one
    assert not changed.empty
    assert set(changed["customer_key_1"]) == {run.younger}, changed
    assert set(changed["customer_key_2"]) == {run.older}, changed
    # the merged customer: the new ERP record and both old customers' ids under the older key
    merged = run.bridge_night2[run.bridge_night2["customer_key"] == run.older]
    assert MERGER_ID in set(merged["source_id"])
    lineage = _frame(run.settings, "select * from staging.int_identity__key_lineage").set_index("customer_key")
    assert bool(lineage.loc[run.younger, "is_retired"]) and lineage.loc[run.younger, "current_customer_key"] == run.older
    assert not bool(lineage.loc[run.older, "is_retired"])
    assert int(lineage["is_retired"].sum()) == 1
    # the retired key is gone from the dimension; the surviving one is there
    dim = _frame(run.settings, "select customer_key from core.dim_customer")
    assert run.older in set(dim["customer_key"]) and run.younger not in set(dim["customer_key"])
    # the change is logged
    log = _frame(run.settings, f"""
        select count(*) as n from staging.int_identity__key_assignments
        where previous_customer_key = '{run.younger}' and customer_key = '{run.older}'""")
    assert int(log["n"][0]) == len(changed)


@pytest.mark.slow
def test_keys_are_the_md5_of_their_founding_record(run: Run) -> None:
    dim = _frame(run.settings, """
        select customer_key, md5(founder_source_system || ':' || founder_source_entity || ':' || founder_source_id) as expected
        from core.dim_customer where not is_unknown""")
    assert len(dim) > 500
    assert (dim["customer_key"] == dim["expected"]).all()
    unknown = _frame(run.settings, "select customer_key, customer_type from core.dim_customer where is_unknown")
    assert unknown["customer_type"].tolist() == ["unknown"]
    assert unknown["customer_key"][0] == _frame(run.settings, "select md5('_crmwh_null_') as k")["k"][0]


@pytest.mark.slow
def test_rerunning_a_night_changes_no_key(run: Run) -> None:
    assert len(run.keys_rerun) == len(run.keys_night2)
    assert run.assignments_rerun == run.assignments_night2
    ids = ["source_system", "source_entity", "source_id"]
    both = run.bridge_night2.merge(run.bridge_rerun, on=ids, suffixes=("_2", "_3"), validate="one_to_one")
    assert len(both) == len(run.bridge_night2)
    assert (both["customer_key_2"] == both["customer_key_3"]).all()


@pytest.mark.slow
def test_evaluate_command_prints_the_figures(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    code = evaluate_main(["--db", str(run.settings.build_db_path), "--landing", str(run.settings.landing_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "precision" in out and "recall" in out and "links by match_reason" in out
    assert evaluate_main(["--db", str(run.settings.home / "missing.duckdb"), "--landing", str(run.settings.landing_dir)]) == 1
