"""The core layer (dims, incremental facts, snapshots, daily history) built night by night equals a full refresh.

So do the customer-scoped incremental marts (macros/marts/customer_incremental.sql) and the incremental
identity models: night 3 carries a record that merges two customers, so a night also moves
whole timelines between customer keys, an account moved to another city without its contacts (their identity
records carry the account's city), a contact moved to another account (its old account's name + city, shared
with two contacts and so ambiguous until then, now links the account and the other contact), and an account and
an ERP customer whose link changes reason while neither record changes (tests/support/reason_swap.py).

Simulated xs sources for three nights are loaded one night at a time, each followed
by a dbt build of the core layer with that night's ``as_of_date`` (what the nightly
DAG does). Every ``core`` table is then checksummed (row count and an
order-independent sum of row hashes, load timestamps left out), the last night is
re-run (nothing may change), and a ``--full-refresh`` over the same nights must give
the same checksums. Snapshots are history, not rebuilt by a full refresh: they take
part in the comparison, so the daily tables built from them must come out the same.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from crmwh.resources import dbt_project_dir
from crmwh.simulator.generate import generate
from ingestion.night import load_night
from ingestion.warehouse import connect, ensure_contract_raw_tables, quote_ident

try:  # tests/ is on sys.path when it has no __init__.py (pytest's default import mode)
    from support.account_move import NEW_CITY, move_a_contact_out_of_an_ambiguous_key, move_an_account
    from support.identity_merge import add_merging_record
    from support.reason_swap import add_records_linked_by_an_opportunity, swap_the_link_reason
except ImportError:  # tests/ became a package
    from tests.support.account_move import NEW_CITY, move_a_contact_out_of_an_ambiguous_key, move_an_account
    from tests.support.identity_merge import add_merging_record
    from tests.support.reason_swap import add_records_linked_by_an_opportunity, swap_the_link_reason

PROJECT = dbt_project_dir()
DBT = Path(sys.executable).parent / "dbt"
START = dt.date(2026, 11, 1)
NIGHTS = 3
# What the core layer and the snapshots are built from, staging tables included (each night adds its rows
# to them, as in the pipeline); tests run once, on the full refresh, for everything but staging (tested elsewhere).
# Marts built incrementally, compared like the core tables.
INCREMENTAL_MARTS = ("account_timeline", "marketing_campaign_followup")
# Incremental models outside core and marts, compared the same way.
INCREMENTAL_INTERMEDIATES = ("int_identity__nodes", "int_identity__attribute_links", "int_identity__components")
SELECT = ["+path:models/core", "+path:snapshots", *(f"+{name}" for name in INCREMENTAL_MARTS)]
NOT_STAGING = ["path:models/staging"]
# Columns that legitimately differ between two builds of the same data (resolved_night: the night a
# row was last recomputed, every row's last night after a full refresh).
VOLATILE_COLUMNS = {"_loaded_at", "_load_id", "resolved_night"}


def _dbt(work: Path, database: Path, *args: str) -> str:
    result = _dbt_run(work, database, *args)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return result.stdout


def _dbt_run(work: Path, database: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CRMWH_BUILD_DB": str(database),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "CRMWH_DBT_TARGET": "duckdb",
        "CRMWH_CUSTOMER_DAILY_STATUS": "1",  # opt-in (its size grows with customers x days); tested here
    }
    result = subprocess.run(
        [str(DBT), *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    return result


def _build_night(work: Path, database: Path, night: dt.date, *extra: str, tests: bool = False,
                 staging: bool = False) -> str:
    # cautious: only tests whose parents are all selected (a mart's test on a core model is not ours).
    args = ["build", "--select", *SELECT, "--indirect-selection", "cautious",
            "--vars", f"{{as_of_date: '{night.isoformat()}'}}", *extra]
    excluded = ([] if staging else NOT_STAGING) + ([] if tests else ["resource_type:test", "resource_type:unit_test"])
    if excluded:
        args += ["--exclude", *excluded]
    return _dbt(work, database, *args)


def core_checksums(database: Path) -> dict[str, tuple[int, int]]:
    """Per core table and incremental mart or intermediate: (rows, sum of row hashes) over every column but the volatile ones."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = [("core", row[0]) for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'core' order by 1").fetchall()]
        tables += [("marts", name) for name in INCREMENTAL_MARTS]
        tables += [("staging", name) for name in INCREMENTAL_INTERMEDIATES]
        sums: dict[str, tuple[int, int]] = {}
        for schema, table in tables:
            columns = [row[0] for row in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by column_name", [schema, table]).fetchall() if row[0] not in VOLATILE_COLUMNS]
            assert columns, f"{schema}.{table} is missing"
            row_hash = f"hash({', '.join(quote_ident(c) for c in columns)})"
            count, total = con.execute(
                f"select count(*), coalesce(sum({row_hash}), 0) from {schema}.{quote_ident(table)}").fetchone()
            sums[table] = (int(count), int(total))
        return sums
    finally:
        con.close()


def _timeline_rows_per_customer(database: Path, keys: tuple[str, str]) -> dict[str, int]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {key: con.execute("select count(*) from marts.account_timeline where customer_id = ?", [key]).fetchone()[0]
                for key in keys}
    finally:
        con.close()


def _node_cities(database: Path, node_ids: list[str]) -> dict[str, str]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return dict(con.execute("select node_id, city from staging.int_identity__nodes where list_contains(?, node_id)",
                                [node_ids]).fetchall())
    finally:
        con.close()


def _link_reasons(database: Path, node_id: str, other_node_id: str) -> set[str]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {row[0] for row in con.execute(
            "select match_reason from staging.int_identity__links where (node_id_a, node_id_b) in ((?, ?), (?, ?))",
            [node_id, other_node_id, other_node_id, node_id]).fetchall()}
    finally:
        con.close()


def _bridge_reasons(database: Path, node_ids: tuple[str, ...]) -> set[str]:
    """The match_reasons of these source ids in core.bridge_customer_source_id."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {row[0] for row in con.execute(
            "select match_reasons from core.bridge_customer_source_id "
            "where list_contains(?, source_system || ':' || source_entity || ':' || source_id)", [list(node_ids)]).fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def nightly_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("core_models")
    landing = work / "landing"
    generate(scale="xs", nights=NIGHTS, out_dir=landing, start=START)
    database = work / "build.duckdb"
    nights = [START + dt.timedelta(days=n) for n in range(NIGHTS)]
    merged: tuple[str, str] | None = None
    add_records_linked_by_an_opportunity(landing, nights[0])
    for night in nights:
        if night == nights[-1]:  # the first night after night 1 with an ERP customers file
            merged = add_merging_record(database, landing, night, with_rows_in="marts.account_timeline")
            moved_account = move_an_account(database, landing, night)
            split_key = move_a_contact_out_of_an_ambiguous_key(database, landing, night)
            split_key_reasons_before = _link_reasons(database, *split_key)
            swapped = swap_the_link_reason(landing, night)
            swapped_reasons_before = _link_reasons(database, *swapped), _bridge_reasons(database, swapped)
            timelines_before_merge = _timeline_rows_per_customer(database, merged)
        con = connect(database)
        try:
            ensure_contract_raw_tables(con)
            load_night(con, landing, night)
        finally:
            con.close()
        _build_night(work, database, night, staging=True)
    incremental = core_checksums(database)
    timelines_after_nights = _timeline_rows_per_customer(database, merged)
    moved_contact_cities = _node_cities(database, moved_account[1])
    split_key_reasons = _link_reasons(database, *split_key)
    swapped_reasons = _link_reasons(database, *swapped), _bridge_reasons(database, swapped)
    _build_night(work, database, nights[-1])
    rerun = core_checksums(database)
    output = _build_night(work, database, nights[-1], "--full-refresh", tests=True)
    full = core_checksums(database)
    return {"work": work, "nights": nights, "database": database, "incremental": incremental, "rerun": rerun, "full": full, "output": output,
            "merged": merged, "timelines_before_merge": timelines_before_merge,
            "timelines_after_nights": timelines_after_nights, "moved_contact_cities": moved_contact_cities,
            "split_key_reasons_before": split_key_reasons_before, "split_key_reasons": split_key_reasons,
            "swapped_reasons_before": swapped_reasons_before, "swapped_reasons": swapped_reasons}


def test_core_tables_exist_and_are_filled(nightly_build: dict) -> None:
    sums = nightly_build["incremental"]
    expected = {
        "dim_date", "dim_account", "dim_product", "dim_employee", "dim_department", "dim_channel", "dim_campaign",
        "fct_order_lines", "fct_orders", "fct_payments", "fct_quotes", "fct_quote_lines",
        "fct_opportunity_stage_changes", "fct_interactions", "fct_campaign_touches", "fct_lead_conversions",
        "fct_consent_events", "fct_ticket_events", "fct_tickets", "fct_field_visits",
        "snp_erp__customers", "snp_crm__accounts", "snp_crm__contact_channel_consent", "snp_erp__opportunities",
        "snp_helpdesk__tickets", "snp_erp__products", "snp_erp__rep_territories",
        "customer_daily_status", "ticket_daily_backlog",
    }
    assert expected <= set(sums), sorted(expected - set(sums))
    empty = sorted(name for name in expected if sums[name][0] == 0)
    assert empty == [], f"empty core tables: {empty}"


def test_incremental_nights_equal_a_full_refresh(nightly_build: dict) -> None:
    incremental, full = nightly_build["incremental"], nightly_build["full"]
    differing = {name: (incremental.get(name), full.get(name))
                 for name in set(incremental) | set(full) if incremental.get(name) != full.get(name)}
    assert differing == {}, differing


def test_rerunning_a_night_changes_nothing(nightly_build: dict) -> None:
    incremental, rerun = nightly_build["incremental"], nightly_build["rerun"]
    differing = {name: (incremental.get(name), rerun.get(name))
                 for name in set(incremental) | set(rerun) if incremental.get(name) != rerun.get(name)}
    assert differing == {}, differing


def test_full_refresh_passes_every_core_test(nightly_build: dict) -> None:
    output = nightly_build["output"]
    assert "ERROR=0" in output and "[WARNING]" not in output, output[-4000:]


def test_facts_never_lose_rows_and_point_to_dimension_members(nightly_build: dict) -> None:
    """Every staged order line is in the fact; a line with no product points to the unknown product."""
    con = duckdb.connect(str(nightly_build["database"]), read_only=True)
    try:
        staged = con.execute("select count(*) from staging.stg_erp__order_lines").fetchone()[0]
        facts = con.execute("select count(*) from core.fct_order_lines").fetchone()[0]
        assert facts == staged > 0
        orphans = con.execute("""
            select count(*) from core.fct_order_lines as f
            left join core.dim_product as p on p.product_key = f.product_key
            where p.product_key is null""").fetchone()[0]
        assert orphans == 0
        unknown = con.execute("select product_key from core.dim_product where is_unknown").fetchall()
        assert len(unknown) == 1
        margin = con.execute("""
            select count(*) from core.fct_orders
            where source_system = 'erp' and cost is not null and abs(revenue - cost - margin) > 0.005""").fetchone()[0]
        assert margin == 0
        # The daily history stops at the as-of day and is capped by the horizon.
        first, last = con.execute("select min(date_day), max(date_day) from core.customer_daily_status").fetchone()
        assert last == START + dt.timedelta(days=NIGHTS - 1)
        assert (last - first).days <= 400
    finally:
        con.close()


def test_a_merge_moves_the_younger_customers_timeline_onto_the_older_key(nightly_build: dict) -> None:
    older, younger = nightly_build["merged"]
    con = duckdb.connect(str(nightly_build["database"]), read_only=True)
    try:
        moved = con.execute("""
            select count(*) from staging.int_identity__key_assignments
            where previous_customer_key = ? and customer_key = ?""", [younger, older]).fetchone()[0]
    finally:
        con.close()
    assert moved > 0, "the injected record did not merge the two customers"
    before, after = nightly_build["timelines_before_merge"], nightly_build["timelines_after_nights"]
    assert before[younger] > 0 and before[older] > 0, before
    # every event of both now under the older key (plus what the nights added), none left under the retired one
    assert after[younger] == 0 and after[older] >= before[older] + before[younger], (before, after)


def test_a_contacts_identity_record_follows_its_accounts_later_change(nightly_build: dict) -> None:
    """The incremental identity nodes re-read a contact when only its account changed (city, name)."""
    cities = nightly_build["moved_contact_cities"]
    assert cities and set(cities.values()) == {NEW_CITY}, cities


def test_a_weak_key_links_once_a_record_leaves_it_unambiguous(nightly_build: dict) -> None:
    """An account's company name + city, shared with two contacts, links nothing; once one contact
    moved to another account, it links the account and the other contact, which did not change."""
    before, after = nightly_build["split_key_reasons_before"], nightly_build["split_key_reasons"]
    assert "company_name+city" not in before and "company_name+city" in after, (before, after)


def test_a_link_whose_reason_changes_is_resolved_again(nightly_build: dict) -> None:
    """An account and an ERP customer linked by an opportunity, then by company name + city, though
    neither record changed: the bridge lists the new reason (the components' fingerprint counts reasons)."""
    (links_before, bridge_before), (links_after, bridge_after) = nightly_build["swapped_reasons_before"], nightly_build["swapped_reasons"]
    assert links_before == bridge_before == {"erp_opportunity_account"}, (links_before, bridge_before)
    assert links_after == bridge_after == {"company_name+city"}, (links_after, bridge_after)


def test_an_incremental_mart_refuses_a_list_computed_before_it_last_changed(nightly_build: dict) -> None:
    """The list of customers to rebuild must be computed for the mart as it is: a stale list would
    move the mart's watermark past changes it never looked at."""
    work, night = nightly_build["work"], nightly_build["nights"][-1]
    database = work / "stale_list.duckdb"
    shutil.copy(nightly_build["database"], database)
    as_of = ["--vars", f"{{as_of_date: '{night.isoformat()}'}}"]
    _dbt(work, database, "run", "--select", "int_account_timeline__changed_customers", *as_of)
    con = duckdb.connect(str(database))
    try:  # the mart changes after its list was computed
        con.execute("delete from marts.account_timeline where customer_id = (select min(customer_id) from marts.account_timeline)")
    finally:
        con.close()
    refused = _dbt_run(work, database, "run", "--select", "account_timeline", *as_of)
    assert refused.returncode != 0
    assert "int_account_timeline__changed_customers was computed before" in refused.stdout, refused.stdout[-3000:]
    assert "dbt build --select int_account_timeline__changed_customers account_timeline" in refused.stdout
    # with its list, the same run goes through
    _dbt(work, database, "run", "--select", "int_account_timeline__changed_customers", "account_timeline", *as_of)
