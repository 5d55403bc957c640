"""The customer-value marts end to end: a bring-your-own orders file, the real loader, a real dbt build.

Each test reads what `dbt build` wrote into a temp DuckDB file: marts.customer_value,
marts.customer_value_model_params and marts.customer_value_input_audit. The
orders below are small enough to check by hand.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from crmwh.config import Settings
from crmwh.pipeline.dbt_runner import DbtResult, run_dbt
from crmwh.value.nightly import params_from_scores, score_customers
from ingestion.night import load_night
from ingestion.warehouse import ensure_contract_raw_tables

NIGHT = dt.date(2026, 11, 21)
NEXT_NIGHT = dt.date(2026, 11, 22)
CV_MODELS = "+path:models/marts/customer_value"

# customer_id,order_id,order_date,amount,cost,currency
ORDERS = """customer_id,order_id,order_date,amount,cost,currency
A,A1,2026-01-10,100.00,60.00,EUR
A,A2,2026-03-15,200.00,120.00,EUR
A,A3,2026-06-01,-50.00,-30.00,EUR
A,A4,2026-09-01,80.00,50.00,
B,B1,2026-02-01,50.00,20.00,EUR
B,B2,2026-11-30,70.00,30.00,EUR
C,C1,2026-05-05,0.00,0.00,EUR
C,C2,2026-05-06,120.00,100.00,USD
D,D1,2026-04-04,100.00,10.00,XYZ
E,E1,2025-12-01,30.00,10.00,EUR
E,E2,2026-02-15,40.00,10.00,EUR
E,E3,2026-05-20,35.00,15.00,EUR
E,E4,2026-10-01,50.00,20.00,EUR
F,F1,2026-08-08,300.00,,EUR
G,G1,2026-11-01,60.00,30.00,EUR
G,G2,2026-11-15,60.00,30.00,EUR
H,H1,2026-07-07,45.00,15.00,EUR
H,H2,2026-08-17,55.00,20.00,EUR
"""
# The next night's delivery: one new purchase for B.
ORDERS_NEXT = """customer_id,order_id,order_date,amount,cost
B,B3,2026-11-22,90.00,40.00
"""


def _settings(home: Path) -> Settings:
    return Settings(home=home, landing_dir=home / "landing", warehouse_path=home / "warehouse" / "crm.duckdb",
                    work_dir=home / "work")


def _land(settings: Settings, night: dt.date, text: str) -> None:
    folder = settings.landing_dir / "shop" / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(text)
    con = duckdb.connect(str(settings.build_db_path))
    try:
        ensure_contract_raw_tables(con)
        load_night(con, settings.landing_dir, night)
    finally:
        con.close()


def _build(settings: Settings, night: dt.date, select: str | None = CV_MODELS, extra_vars: str = "") -> DbtResult:
    args = ["build", "--vars", f"{{as_of_date: '{night.isoformat()}'{extra_vars}}}"]
    if select:
        args += ["--select", select]
    result = run_dbt(settings, args)
    assert result.ok, "\n".join(result.failures)
    return result


def _frame(settings: Settings, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(settings.build_db_path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One landed night and one full `dbt build` (every model of the project, not only ours)."""
    settings = _settings(tmp_path_factory.mktemp("cv_home"))
    settings.ensure_dirs()
    _land(settings, NIGHT, ORDERS)
    result = _build(settings, NIGHT, select=None)
    assert result.count("model", "success") >= 10
    return settings


def _customers(settings: Settings, night: dt.date = NIGHT) -> pd.DataFrame:
    """The night's rows indexed by the source's id (`shop:A`); customer_id is core's resolved key."""
    frame = _frame(settings, f"""
        select b.source_system || ':' || b.source_id as source_key, c.*
        from marts.customer_value as c
        left join core.bridge_customer_source_id as b
            on b.customer_key = c.customer_id and b.source_entity = 'customers' and b.source_system = 'shop'
        where c.as_of_date = date '{night}' order by source_key""")
    assert frame["source_key"].notna().all() and frame["source_key"].is_unique
    return frame.set_index("source_key")


@pytest.mark.slow
def test_byod_orders_give_customer_value_for_the_night(built: Settings) -> None:
    cv = _customers(built)
    # D's only order is in an unknown currency: excluded, so D has no row.
    assert list(cv.index) == ["shop:A", "shop:B", "shop:C", "shop:E", "shop:F", "shop:G", "shop:H"]
    # customer_id is the integrated customer of core.dim_customer, not the source's id.
    keys = _frame(built, "select customer_key from core.dim_customer")["customer_key"]
    assert cv["customer_id"].isin(keys).all() and not cv["customer_id"].str.startswith("shop:").any()
    # A: margins 40 + 80 - 20 (refund) + 30 = 130; the refund is not a purchase.
    assert cv.loc["shop:A", "historical_value"] == pytest.approx(130.0)
    assert cv.loc["shop:A", "purchase_frequency"] == 3
    assert cv.loc["shop:A", "n_refunds"] == 1
    assert cv.loc["shop:A", "tenure_days"] == (NIGHT - dt.date(2026, 1, 10)).days
    # B: the order dated after the night does not count.
    assert cv.loc["shop:B", "historical_value"] == pytest.approx(30.0)
    assert cv.loc["shop:B", "purchase_frequency"] == 1
    # C: the zero order is not a purchase; USD converted at the seed's 0.92.
    assert cv.loc["shop:C", "historical_value"] == pytest.approx((120 - 100) * 0.92)
    assert cv.loc["shop:C", "purchase_frequency"] == 1
    # F: no cost delivered, so margin = revenue.
    assert cv.loc["shop:F", "historical_value"] == pytest.approx(300.0)
    assert (cv["lifetime_value"] - cv["historical_value"] - cv["current_value"] - cv["potential_value"]).abs().max() < 1e-9
    assert cv["value_group"].isin(["loyal", "repeat", "prospective", "ordinary"]).all()
    assert cv["p_alive"].between(0, 1).all()
    assert (cv["current_value"] >= 0).all() and (cv["potential_value"] >= 0).all()
    assert cv["current_value"].sum() > 0
    # No order lines in a BYOD file: no cross-buying breadth, no cross-sell; no CRM account: referrals unknown.
    assert cv["cross_buy_breadth"].isna().all() and (cv["cross_sell_value"] == 0).all()
    assert cv["referral_count"].isna().all() and (cv["referral_potential_value"] == 0).all()
    # G bought twice in the last three weeks, E four times over the year: recent beats lapsed.
    assert cv.loc["shop:G", "r_score"] == 5 and cv.loc["shop:G", "p_alive"] > cv.loc["shop:A", "p_alive"] * 0.99
    assert cv.loc["shop:E", "f_score"] == 5


@pytest.mark.slow
def test_model_params_for_the_night(built: Settings) -> None:
    params = _frame(built, "select * from marts.customer_value_model_params order by model, param")
    assert sorted(zip(params["model"], params["param"])) == sorted(
        [("bg_nbd", p) for p in ("r", "alpha", "a", "b")] + [("gamma_gamma", p) for p in ("p", "q", "v")])
    assert (params["as_of_date"] == pd.Timestamp(NIGHT)).all()
    assert set(params["time_unit"]) == {"week"}
    bg = params[params["model"] == "bg_nbd"]
    assert bg["n_customers"].iloc[0] == 7  # A, B, C, E, F, G, H purchased
    # Seven customers: the plain MLE runs off to a boundary, the penalised refit is interior.
    assert bg["status"].iloc[0] in {"ok", "ok+penalizer=0.001"}
    assert bg["value"].notna().all() and bg["log_likelihood"].notna().all()


@pytest.mark.slow
def test_bad_input_is_counted(built: Settings) -> None:
    audit = _frame(built, "select * from marts.customer_value_input_audit").set_index("source_system")
    shop = audit.loc["shop"]
    assert shop["n_orders_in"] == 18
    assert shop["n_after_as_of"] == 1  # B2
    assert shop["n_unknown_currency"] == 1  # D1
    assert shop["n_refunds"] == 1 and shop["refund_revenue_eur"] == pytest.approx(-50.0)  # A3
    assert shop["n_zero_amount"] == 1  # C1
    assert shop["n_currency_converted"] == 1  # C2
    assert shop["n_currency_defaulted"] == 1  # A4
    assert shop["n_cost_missing"] == 1  # F1
    assert shop["n_orders_used"] == 16 and shop["n_purchases"] == 14
    assert shop["n_orders_in"] == shop[["n_after_as_of", "n_cancelled", "n_no_amount", "n_unknown_currency",
                                        "n_orders_used"]].sum()
    assert shop["n_customers"] == 7


@pytest.mark.slow
def test_rerun_gives_identical_rows_and_history_is_kept(built: Settings) -> None:
    tables = ["customer_value", "customer_value_model_params", "customer_value_input_audit"]
    before = {t: _frame(built, f"select * from marts.{t} order by all") for t in tables}
    _build(built, NIGHT)
    for table in tables:
        pd.testing.assert_frame_equal(_frame(built, f"select * from marts.{table} order by all"), before[table])
    # The next night: B buys again. The first night's rows stay as they were.
    _land(built, NEXT_NIGHT, ORDERS_NEXT)
    _build(built, NEXT_NIGHT)
    first = _frame(built, f"select * from marts.customer_value where as_of_date = date '{NIGHT}' order by all")
    pd.testing.assert_frame_equal(first, before["customer_value"])
    cv = _customers(built, NEXT_NIGHT)
    assert cv.loc["shop:B", "purchase_frequency"] == 2
    assert cv.loc["shop:B", "historical_value"] == pytest.approx(30.0 + 50.0)
    counts = _frame(built, "select as_of_date, count(*) as n from marts.customer_value_model_params group by 1")
    assert sorted(counts["n"]) == [7, 7]
    # The portfolio's trend compares with the previous night.
    trend = _frame(built, f"""
        select sum(previous_n_customers) as before, sum(n_customers) as now, max(previous_as_of_date) as previous
        from marts.customer_portfolio where as_of_date = date '{NEXT_NIGHT}' and dimension = 'rfm_segment'""").iloc[0]
    assert (trend["before"], trend["now"]) == (7, 7) and trend["previous"] == pd.Timestamp(NIGHT)


@pytest.mark.slow
def test_value_matrix_thresholds_are_configurable(tmp_path: Path, built: Settings) -> None:
    settings = _settings(tmp_path / "home")
    shutil.copytree(built.work_dir, settings.work_dir, ignore=shutil.ignore_patterns("dbt_target", "dbt_logs"))
    # Current above 0 is "high", potential never is: every customer with future value is "repeat".
    _build(settings, NIGHT, extra_vars=", cv_current_value_threshold: 0, cv_potential_value_threshold: 1000000")
    cv = _customers(settings)
    assert set(cv.loc[cv["current_value"] > 0, "value_group"]) == {"repeat"}
    assert set(cv.loc[cv["current_value"] <= 0, "value_group"]) <= {"ordinary"}
    assert (cv["current_value_threshold"] == 0).all()
    # Both thresholds at -1: everyone is loyal.
    _build(settings, NIGHT, extra_vars=", cv_current_value_threshold: -1, cv_potential_value_threshold: -1")
    assert set(_customers(settings)["value_group"]) == {"loyal"}


@pytest.mark.slow
def test_cohorts_repeat_share_and_portfolio(built: Settings) -> None:
    cohorts = _frame(built, """
        select months_since_first_purchase, active_customers, cohort_customers from marts.cohort_retention
        where cohort_month = date '2026-01-01' order by 1""")
    # Cohort January 2026 is A alone (A1); A bought again in March (A2) and September (A4).
    assert cohorts.values.tolist() == [[0, 1, 1], [2, 1, 1], [8, 1, 1]]
    share = _frame(built, "select * from marts.repeat_customer_share where month = date '2026-02-01'").iloc[0]
    # February: B's first purchase (new) and E's second (repeat, first in December 2025).
    assert (share["purchasing_customers"], share["new_customers"], share["repeat_customers"]) == (2, 1, 1)
    assert share["repeat_customer_share"] == pytest.approx(0.5)
    portfolio = _frame(built, f"""
        select * from marts.customer_portfolio where as_of_date = date '{NIGHT}' and dimension = 'value_group'""")
    assert portfolio["n_customers"].sum() == 7
    assert portfolio["customer_share"].sum() == pytest.approx(1.0)
    assert portfolio["value_share"].sum() == pytest.approx(1.0)


def test_scores_carry_one_fit_for_both_tables() -> None:
    purchases = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c", "c"],
        "order_date": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-02-01", "2026-01-05", "2026-04-01", "2026-06-01"]),
        "amount": [100.0, 50.0, 20.0, 10.0, 30.0, 40.0],
        "margin": [30.0, 10.0, 5.0, 2.0, 6.0, 8.0],
    })
    scores = score_customers(purchases, "2026-07-01", horizon_weeks=52)
    assert list(scores["customer_id"]) == ["a", "b", "c"]
    assert list(scores["purchase_margin"]) == [40.0, 5.0, 16.0]
    ok = scores["p_alive"].notna()
    assert ((scores.loc[ok, "expected_purchases_if_alive"] * scores.loc[ok, "p_alive"]
             - scores.loc[ok, "expected_purchases"]).abs() < 1e-9).all()
    params = params_from_scores(scores, "2026-07-01")
    assert len(params) == 7 and params["n_customers"].tolist() == [3] * 4 + [2] * 3
    empty = params_from_scores(scores.iloc[0:0], "2026-07-01")
    assert set(empty["status"]) == {"no_customers"} and empty["value"].isna().all()


# Referrals: CRM accounts name who referred them; ERP customers are the same companies (same phone,
# name and city), so the bridge maps both to one customer and ERP orders give the referred their value.
CRM_ACCOUNTS = [
    {"account_id": "ACC-1", "account_name": "Alpha GmbH", "account_type": "business", "phone": "+49 30 1111111",
     "city": "Berlin", "country": "DE", "created_at": "2025-11-21T09:00:00Z", "updated_at": "2025-11-21T09:00:00Z"},
    {"account_id": "ACC-2", "account_name": "Beta GmbH", "account_type": "business", "phone": "+49 30 2222222",
     "city": "Berlin", "country": "DE", "referred_by_account_id": "ACC-1",
     "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z"},
    # created after the night: not a referral yet
    {"account_id": "ACC-3", "account_name": "Gamma GmbH", "account_type": "business", "phone": "+49 30 3333333",
     "city": "Hamburg", "country": "DE", "referred_by_account_id": "ACC-1",
     "created_at": "2026-12-01T09:00:00Z", "updated_at": "2026-12-01T09:00:00Z"},
    # referred but never bought: counts, with value 0
    {"account_id": "ACC-4", "account_name": "Delta AG", "account_type": "business", "city": "Munich", "country": "DE",
     "referred_by_account_id": "ACC-1", "created_at": "2026-06-01T09:00:00Z", "updated_at": "2026-06-01T09:00:00Z"},
]
ERP_CUSTOMERS = """customer_id,customer_name,customer_type,phone,city,country,created_at,updated_at
C1,Alpha GmbH,business,+49 30 1111111,Berlin,DE,2025-11-22T00:00:00Z,2025-11-22T00:00:00Z
C2,Beta GmbH,business,+49 30 2222222,Berlin,DE,2026-03-02T00:00:00Z,2026-03-02T00:00:00Z
"""
ERP_ORDERS = """order_id,customer_id,status,currency,order_date,updated_at
O1,C1,invoiced,EUR,2026-05-01,2026-05-01T00:00:00Z
O2,C2,invoiced,EUR,2026-04-01,2026-04-01T00:00:00Z
"""
ERP_LINES = [  # O1: margin 100 - 40 = 60 for Alpha; O2: 2 x (50 - 20) = 60 for Beta
    {"order_line_id": "L1", "order_id": "O1", "product_id": "P1", "quantity": "1", "unit_price": "100.00",
     "unit_cost": "40.00", "updated_at": "2026-05-01T00:00:00Z"},
    {"order_line_id": "L2", "order_id": "O2", "product_id": "P1", "quantity": "2", "unit_price": "50.00",
     "unit_cost": "20.00", "updated_at": "2026-04-01T00:00:00Z"},
]


@pytest.mark.slow
def test_referrals_from_crm_accounts(tmp_path: Path, built: Settings) -> None:
    import json

    settings = _settings(tmp_path / "home")
    shutil.copytree(built.work_dir, settings.work_dir, ignore=shutil.ignore_patterns("dbt_target", "dbt_logs"))
    crm = settings.landing_dir / "crm" / NIGHT.isoformat()
    erp = settings.landing_dir / "erp" / NIGHT.isoformat()
    crm.mkdir(parents=True)
    erp.mkdir(parents=True)
    (crm / "accounts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in CRM_ACCOUNTS))
    (erp / "customers.csv").write_text(ERP_CUSTOMERS)
    (erp / "orders.csv").write_text(ERP_ORDERS)
    pd.DataFrame(ERP_LINES).to_parquet(erp / "order_lines.parquet", index=False)
    con = duckdb.connect(str(settings.build_db_path))
    try:
        load_night(con, settings.landing_dir, NIGHT)
    finally:
        con.close()
    # new identities: dim_customer too (the bridge's relationship test reads it)
    _build(settings, NIGHT, select=f"{CV_MODELS} +dim_customer")
    cv = _frame(settings, f"""
        select b.source_id as account_id, c.*
        from marts.customer_value as c
        inner join core.bridge_customer_source_id as b
            on b.customer_key = c.customer_id and b.source_system = 'crm' and b.source_entity = 'accounts'
        where c.as_of_date = date '{NIGHT}'""").set_index("account_id")
    # ACC-1 (Alpha, ERP C1) referred Beta (margin 60) and Delta (no orders); Gamma came after the night.
    assert sorted(cv.index) == ["ACC-1", "ACC-2"]
    alpha, beta = cv.loc["ACC-1"], cv.loc["ACC-2"]
    assert alpha["historical_value"] == pytest.approx(60.0) and beta["historical_value"] == pytest.approx(60.0)
    assert (alpha["referral_count"], beta["referral_count"]) == (2, 0)
    assert alpha["referral_value"] == pytest.approx(60.0) and beta["referral_value"] == pytest.approx(0.0)
    # lambda = 2 referrals in the last year / 3 CRM customers (Alpha, Beta, Delta); avg referred value (60 + 0) / 2.
    lam = 2 / 3
    assert alpha["referral_rate"] == pytest.approx((2 + lam) / (1 + 365 / 365.25))
    tenure_beta = (NIGHT - dt.date(2026, 3, 1)).days / 365.25
    assert beta["referral_rate"] == pytest.approx((0 + lam) / (1 + tenure_beta))
    for row in (alpha, beta):
        expected = (row["referral_rate"] * row["horizon_weeks"] / 52 * row["p_alive"] * 30.0
                    * (1 - 1.1 ** -1) / math.log(1.1))
        assert row["referral_potential_value"] == pytest.approx(expected)
    assert (cv["potential_value"] - cv["cross_sell_value"] - cv["activation_value"]
            - cv["referral_potential_value"]).abs().max() < 1e-9


@pytest.mark.slow
def test_measures_and_satisfaction_loyalty_trend(built: Settings) -> None:
    cv = _customers(built)
    measures = _frame(built, f"select * from marts.customer_measures where as_of_date = date '{NIGHT}'")
    assert sorted(measures["customer_id"]) == sorted(cv["customer_id"])
    merged = measures.merge(cv[["customer_id", "value_group"]], on="customer_id", suffixes=("", "_cv"))
    assert (merged["value_group"] == merged["value_group_cv"]).all()
    per_year = {"loyal": 12, "repeat": 6, "prospective": 24, "ordinary": 4}
    assert (merged["contacts_per_year"] == merged["value_group"].map(per_year)).all()
    assert (merged["contact_interval_days"] == (365 / merged["contacts_per_year"]).round()).all()
    # An orders file alone: no campaign or interaction history, so no channel to recommend.
    assert measures["best_channel"].isna().all() and (measures["campaign_sends"] == 0).all()
    trend = _frame(built, "select * from marts.satisfaction_loyalty_trend where dimension = 'all' order by month")
    feb = trend[trend["month"] == pd.Timestamp("2026-02-01")].iloc[0]
    # February: B's first purchase, E's repeat (first in December 2025).
    assert (feb["purchasing_customers"], feb["repeat_customers"]) == (2, 1)
    assert feb["repeat_purchase_rate"] == pytest.approx(0.5)
    assert (trend["n_rated_tickets"] == 0).all() and trend["avg_satisfaction_score"].isna().all()
    # Every customer is in exactly one value group: the groups add up to "all" each month.
    groups = _frame(built, """
        select month, sum(purchasing_customers) as n from marts.satisfaction_loyalty_trend
        where dimension = 'value_group' group by month order by month""")
    assert groups["n"].tolist() == trend["purchasing_customers"].tolist()
