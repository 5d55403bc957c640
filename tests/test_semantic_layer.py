"""The semantic layer (issue 5): MetricFlow's metrics equal independent SQL on the warehouse they describe.

On the published xs warehouse of ``published_warehouse``, ``mf validate-configs`` (semantics and the
warehouse checks) must pass, and ``mf query`` (a subprocess, as an analyst runs it) must return, for
each KPI, exactly what a plain SQL query over the core facts and the marts returns: revenue, margin
and orders per month (core.fct_orders), revenue per product category (core.fct_order_lines),
customers per value group on the latest night and on every night (marts.customer_value), win rate
(marts.sales_opportunities), SLA attainment (marts.service_tickets) and campaign ROI
(marts.marketing_campaign_performance). Every saved query must run. And the project must still parse
for PostgreSQL, where the DuckDB-only marts are disabled: the semantic models and metrics on them must
be disabled with them, or the PostgreSQL build fails.

``mf`` reads ``<project>/target/semantic_manifest.json`` (a fixed path) and opens the dbt profile's
database read-write, so the test runs it in a throwaway project folder (links to the shipped project's
files, its own ``target/``) against a copy of the published file.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from crmwh.config import Settings
from crmwh.resources import dbt_project_dir

try:  # tests/ is on sys.path when it has no __init__.py (pytest's default import mode)
    from support.warehouse_fixture import published_warehouse  # noqa: F401  (a fixture)
except ImportError:
    from tests.support.warehouse_fixture import published_warehouse  # noqa: F401

BIN = Path(sys.executable).parent
PROJECT = dbt_project_dir()
# Project entries dbt or mf write into; everything else of the shipped project is linked.
WRITTEN = {"target", "logs", "dbt_packages", "simhome"}
CENT = Decimal("0.01")
# Semantic models over DuckDB-only marts (disabled on PostgreSQL together with the marts).
DUCKDB_ONLY_SEMANTIC_MODELS = {"customer_value_latest", "customer_value_history"}


@dataclass(frozen=True)
class MfProject:
    folder: Path
    database: Path
    warehouse: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "mf"), *args], cwd=self.folder, env=self.env, capture_output=True,
                              text=True, timeout=600, check=False)

    def query(self, metrics: str, group_by: str = "", where: str | None = None) -> list[dict[str, str]]:
        """Rows of ``mf query`` as CSV strings keyed by column name."""
        out = self.folder / "query.csv"
        out.unlink(missing_ok=True)
        args = ["query", "--metrics", metrics, "--csv", str(out), "--quiet"]
        if group_by:
            args += ["--group-by", group_by]
        if where:
            args += ["--where", where]
        result = self.run(*args)
        assert result.returncode == 0 and out.is_file(), f"mf {' '.join(args)} failed:\n{result.stdout[-3000:]}" \
                                                         f"\n{result.stderr[-3000:]}"
        with out.open(newline="") as handle:
            return list(csv.DictReader(handle))

    def sql(self, query: str) -> list[tuple]:
        """The independent side: plain SQL on the published warehouse (read-only)."""
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()


def _dbt_env(folder: Path, database: Path) -> dict[str, str]:
    env = {**os.environ, "CRMWH_BUILD_DB": str(database), "DBT_TARGET_PATH": str(folder / "target"),
           "DBT_LOG_PATH": str(folder / "logs"), "DBT_PROFILES_DIR": str(folder), "DBT_PROJECT_DIR": str(folder),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("CRMWH_DBT_TARGET", None)
    return env


def _link_project(folder: Path) -> None:
    folder.mkdir(parents=True)
    for entry in PROJECT.iterdir():
        if entry.name not in WRITTEN:
            (folder / entry.name).symlink_to(entry)


@pytest.fixture(scope="module")
def mf_project(published_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> MfProject:  # noqa: F811
    work = tmp_path_factory.mktemp("semantic")
    folder = work / "project"
    _link_project(folder)
    # Same file name as the build database: DuckDB names the catalog after it, and relations name the catalog.
    database = work / "db" / published_warehouse.build_db_path.name
    database.parent.mkdir()
    shutil.copyfile(published_warehouse.warehouse_path, database)
    env = _dbt_env(folder, database)
    parsed = subprocess.run([str(BIN / "dbt"), "parse", "--project-dir", str(folder), "--profiles-dir", str(folder)],
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    assert parsed.returncode == 0, parsed.stdout[-4000:]
    assert (folder / "target" / "semantic_manifest.json").is_file()
    return MfProject(folder, database, published_warehouse.warehouse_path, env)


def _money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(value: object) -> float | None:
    return None if value in (None, "") else round(float(value), 9)


def _day(value: str) -> str:
    return value[:10]


def _fx_values() -> str:
    """seeds/fx_rates.csv as a SQL VALUES list, read here rather than from the warehouse."""
    with (PROJECT / "seeds" / "fx_rates.csv").open(newline="") as handle:
        rates = [(row["currency"].upper(), row["eur_per_unit"]) for row in csv.DictReader(handle)]
    return ", ".join(f"('{currency}', {rate})" for currency, rate in rates)


def test_validate_configs_with_the_warehouse(mf_project: MfProject) -> None:
    result = mf_project.run("validate-configs")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for step in ("the semantics of built manifest", "dimensions against data warehouse",
                 "entities against data warehouse", "measures against data warehouse",
                 "metrics against data warehouse"):
        assert f"Successfully validated {step} (ERRORS: 0," in output, output[-4000:]


def test_revenue_margin_orders_by_month_equal_core_fct_orders(mf_project: MfProject) -> None:
    rows = mf_project.query("revenue,margin,orders", "metric_time__month")
    got = {_day(r["metric_time__month"]): (_money(r["revenue"]), _money(r["margin"]), int(r["orders"]))
           for r in rows}
    expected = {
        str(month): (_money(revenue), _money(margin), orders)
        for month, revenue, margin, orders in mf_project.sql(f"""
            with fx(currency, rate) as (values {_fx_values()})
            select cast(date_trunc('month', o.order_date) as date), sum(o.revenue * fx.rate),
                   sum(o.margin * fx.rate), count(*)
            from core.fct_orders as o
            left join fx on fx.currency = upper(coalesce(o.currency, 'EUR'))
            where o.order_status is distinct from 'cancelled'
            group by 1""")
    }
    assert len(expected) >= 6, "the xs warehouse should hold several months of orders"
    assert got == expected
    # the metric is not trivially the whole table: cancelled orders exist and are left out
    cancelled = mf_project.sql("select count(*) from core.fct_orders where order_status = 'cancelled'")[0][0]
    assert cancelled > 0


def test_margin_rate_and_average_order_value_are_ratios_of_the_sums(mf_project: MfProject) -> None:
    (row,) = mf_project.query("revenue,margin,orders,margin_rate,average_order_value")
    revenue, margin, orders = Decimal(row["revenue"]), Decimal(row["margin"]), Decimal(row["orders"])
    assert _ratio(row["margin_rate"]) == _ratio(margin / revenue)
    assert _ratio(row["average_order_value"]) == _ratio(revenue / orders)


def test_revenue_by_product_category_equals_order_lines(mf_project: MfProject) -> None:
    rows = mf_project.query("revenue", "sales_line__product_category")
    got = {r["sales_line__product_category"]: _money(r["revenue"]) for r in rows}
    expected = {
        category: _money(revenue)
        for category, revenue in mf_project.sql("""
            select category, sum(revenue) from (
                select coalesce(p.category, 'unknown') as category, l.revenue
                from core.fct_order_lines as l
                left join core.dim_product as p on p.product_key = l.product_key
                where l.has_order_header and l.order_status is distinct from 'cancelled'
                union all
                -- orders without lines (bring-your-own; ERP headers whose lines have not arrived)
                select 'unknown', revenue from core.fct_orders
                where (source_system <> 'erp' or line_count = 0) and order_status is distinct from 'cancelled'
            ) as lines
            group by 1""")
    }
    assert len(expected) >= 3
    assert got == expected


def test_customers_by_value_group_latest_and_by_night(mf_project: MfProject) -> None:
    latest = mf_project.query("customers_latest,lifetime_value_latest", "customer__value_group")
    got_latest = {r["customer__value_group"]: (int(r["customers_latest"]), _money(r["lifetime_value_latest"]))
                  for r in latest}
    expected_latest = {
        group: (n, _money(value))
        for group, n, value in mf_project.sql("""
            select value_group, count(distinct customer_id), sum(lifetime_value) from marts.customer_value
            where as_of_date = (select max(as_of_date) from marts.customer_value)
            group by 1""")
    }
    assert set(expected_latest) == {"loyal", "repeat", "prospective", "ordinary"}
    assert got_latest == expected_latest

    history = mf_project.query("valued_customers,lifetime_value", "metric_time__day,customer_night__value_group")
    got_history = {(_day(r["metric_time__day"]), r["customer_night__value_group"]):
                   (int(r["valued_customers"]), _money(r["lifetime_value"])) for r in history}
    expected_history = {
        (str(night), group): (n, _money(value))
        for night, group, n, value in mf_project.sql("""
            select as_of_date, value_group, count(distinct customer_id), sum(lifetime_value)
            from marts.customer_value group by 1, 2""")
    }
    assert got_history == expected_history


def test_revenue_by_value_group_joins_through_the_customer(mf_project: MfProject) -> None:
    rows = mf_project.query("revenue", "customer__value_group")
    got = {r["customer__value_group"] or None: _money(r["revenue"]) for r in rows}
    expected = {
        group: _money(revenue)
        for group, revenue in mf_project.sql(f"""
            with fx(currency, rate) as (values {_fx_values()}),
            latest as (
                select customer_id, value_group from marts.customer_value
                where as_of_date = (select max(as_of_date) from marts.customer_value))
            select l.value_group, sum(o.revenue * fx.rate)
            from core.fct_orders as o
            left join fx on fx.currency = upper(coalesce(o.currency, 'EUR'))
            left join latest as l on l.customer_id = o.customer_key
            where o.order_status is distinct from 'cancelled'
            group by 1""")
    }
    assert got == expected


def test_win_rate_equals_sales_opportunities(mf_project: MfProject) -> None:
    rows = mf_project.query("opportunities_closed,opportunities_won,win_rate",
                            "opportunity__deal_size_band,opportunity__segment")
    got = {(r["opportunity__deal_size_band"], r["opportunity__segment"]):
           (int(r["opportunities_closed"]), int(r["opportunities_won"]), _ratio(r["win_rate"])) for r in rows}
    expected = {
        (band, segment): (closed, won, _ratio(won / closed) if closed else None)
        for band, segment, closed, won in mf_project.sql("""
            select deal_size_band, customer_segment, count(*) filter (where is_closed),
                   count(*) filter (where is_won)
            from marts.sales_opportunities group by 1, 2""")
    }
    assert got == expected
    assert any(rate not in (None, 0.0, 1.0) for _, _, rate in got.values())


def test_sla_attainment_equals_service_tickets(mf_project: MfProject) -> None:
    rows = mf_project.query("tickets,sla_attainment", "metric_time__month")
    got = {_day(r["metric_time__month"]): (int(r["tickets"]), _ratio(r["sla_attainment"])) for r in rows}
    expected = {
        str(month): (n, _ratio(within / n))
        for month, n, within in mf_project.sql("""
            select cast(date_trunc('month', created_date) as date), count(*),
                   count(*) filter (where not is_sla_breached or is_sla_breached is null)
            from marts.service_tickets group by 1""")
    }
    assert len(expected) >= 3
    assert got == expected


def test_campaign_roi_equals_marketing_campaign_performance(mf_project: MfProject) -> None:
    rows = mf_project.query("campaign_cost,attributed_margin,campaign_roi", "campaign")
    got = {r["campaign"]: (_money(r["campaign_cost"]), _money(r["attributed_margin"]), _ratio(r["campaign_roi"]))
           for r in rows}
    expected = {
        campaign: (_money(cost), _money(margin), _ratio(roi))
        for campaign, cost, margin, roi in mf_project.sql(
            "select campaign_id, cost, attributed_margin, roi from marts.marketing_campaign_performance")
    }
    assert got == expected  # per campaign, the metric is the mart's roi column
    assert any(roi is not None for _, _, roi in got.values())
    by_type = mf_project.query("campaign_cost,attributed_margin,campaign_roi", "campaign__campaign_type")
    for row in by_type:
        cost, margin = Decimal(row["campaign_cost"]), Decimal(row["attributed_margin"])
        assert _ratio(row["campaign_roi"]) == (_ratio((margin - cost) / cost) if cost else None)


def test_every_saved_query_runs(mf_project: MfProject) -> None:
    manifest = json.loads((mf_project.folder / "target" / "semantic_manifest.json").read_text())
    names = [query["name"] for query in manifest["saved_queries"]]
    assert len(names) >= 5
    for name in names:
        out = mf_project.folder / f"{name}.csv"
        result = mf_project.run("query", "--saved-query", name, "--csv", str(out), "--quiet")
        assert result.returncode == 0, f"saved query {name}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        with out.open(newline="") as handle:
            assert len(list(csv.DictReader(handle))) >= 1, f"saved query {name} returned no rows"


def test_project_still_parses_for_postgres(tmp_path: Path) -> None:
    """dbt refuses a semantic model, metric or analysis on a disabled model: the PostgreSQL build's first step."""
    folder = tmp_path / "project"
    _link_project(folder)
    env = _dbt_env(folder, tmp_path / "unused.duckdb")
    env["CRMWH_DBT_TARGET"] = "postgres"
    result = subprocess.run([str(BIN / "dbt"), "parse", "--project-dir", str(folder), "--profiles-dir", str(folder),
                             "--target", "postgres"], env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    manifest = json.loads((folder / "target" / "semantic_manifest.json").read_text())
    on_postgres = {model["name"] for model in manifest["semantic_models"]}
    assert "sales_lines" in on_postgres and "customers" in on_postgres
    assert not on_postgres & DUCKDB_ONLY_SEMANTIC_MODELS
    assert {"revenue", "margin", "win_rate", "sla_attainment", "campaign_roi"} <= {
        metric["name"] for metric in manifest["metrics"]}
