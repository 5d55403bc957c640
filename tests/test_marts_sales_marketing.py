"""Sales and marketing marts (issue 5): invariants against core, and the analyses of their questions.

Runs on the session's published xs warehouse (tests/support/warehouse_fixture.py), which the
real pipeline pieces built with every model. Each check recomputes something from core in a
different way than the mart does, or states an invariant the mart's rule guarantees, so a wrong
join or rule shows up as a failure. The analyses (dbt_project/analyses/qNN_*.sql) are compiled
with dbt and their compiled SQL is run on the published file.
"""

from __future__ import annotations

import re
import duckdb
import pytest

from crmwh.config import Settings
from crmwh.pipeline.dbt_runner import run_dbt
from crmwh.resources import dbt_project_dir

try:  # tests/ is on sys.path when it has no __init__.py (pytest's default import mode)
    from support.warehouse_fixture import published_warehouse  # noqa: F401  (a fixture)
except ImportError:  # tests/ became a package
    from tests.support.warehouse_fixture import published_warehouse  # noqa: F401

pytestmark = pytest.mark.slow

UNKNOWN_KEY = "md5('_crmwh_null_')"

SALES_MARTS = ["sales_opportunities", "sales_leads", "sales_lead_funnel", "sales_pipeline", "sales_rep_performance",
               "sales_price_history", "sales_quote_price_dispersion"]
MARKETING_MARTS = ["marketing_campaign_performance", "marketing_campaign_followup", "marketing_duplicate_sends",
                   "marketing_web_visitors", "marketing_sends_after_opt_out", "marketing_event_registrations"]

# The questions of DOMAIN.md section 4 these marts answer: analysis file stem -> what its rows must satisfy.
ANALYSES = {
    "q01_lead_quality_by_source": "select count(*) = count(distinct lead_source) and min(leads) > 0 "
                                  "and bool_and(leads >= contacts and contacts >= opportunities and opportunities >= won) "
                                  "and bool_and(real_prospect_share between 0 and 1) from result",
    "q03_returning_customer_price": "select bool_and(purchases > 1 and lowest_price_paid <= highest_price_paid "
                                    "and suggested_price >= 0 and value_group is not null) from result",
    "q04_campaign_return": "select bool_and(cost >= 0 and campaigns > 0) and count(*) filter (where campaign_type is null) = 1 "
                           "from result",
    "q05_trade_show_cards": "select bool_and(business_cards >= became_contacts and became_contacts >= became_opportunities "
                            "and became_opportunities >= won_deals and business_cards >= became_customers) from result",
    "q06_brochure_followup": "select bool_and(brochures_handed_out >= responded and brochures_handed_out >= talked_to_sales_since "
                             "and talked_to_sales_since >= 0) from result",
    "q07_real_potential_buyers": "select bool_and(lead_score >= 50 and lead_source in ('trade_show', 'brochure')) from result",
    "q08_duplicate_material": "select bool_and(n_sends >= 2 and departments like '%,%') from result",
    "q09_web_visitors": "select bool_and(visitors > 0 and visits >= visitors) "
                        "and count(distinct visitor_kind) >= 2 from result",
    "q12_quote_price_dispersion": "select bool_and(n_reps >= 2 and max_unit_price > min_unit_price "
                                  "and price_spread = max_unit_price - min_unit_price) from result",
    "q15_sends_after_opt_out": "select bool_and(sent_at >= opted_out_at and days_since_opt_out >= 0) from result",
    "q16_unconfirmed_registrations": "select bool_and(unconfirmed between 0 and registrations "
                                     "and unconfirmed_share between 0 and 1) and sum(registrations) > 0 from result",
    "q20_rep_for_big_deal": "select bool_and(deal_size_band in ('large', 'very_large') and rank_in_segment_band >= 1 "
                            "and (win_rate is null or win_rate between 0 and 1)) from result",
}


@pytest.fixture(scope="module")
def warehouse(published_warehouse: Settings):  # noqa: F811  (the fixture imported above)
    """The published warehouse, attached read-only under its file's stem (the catalog dbt's SQL names)."""
    path = published_warehouse.warehouse_path
    con = duckdb.connect()
    con.execute(f"attach '{path}' as \"{path.stem}\" (read_only)")
    con.execute(f"use \"{path.stem}\"")
    yield con
    con.close()


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchone()


def test_every_mart_and_bi_view_is_published_with_rows(warehouse: duckdb.DuckDBPyConnection) -> None:
    for mart in SALES_MARTS + MARKETING_MARTS:
        assert one(warehouse, f"select count(*) from marts.{mart}")[0] > 0, f"marts.{mart} is empty"
        assert one(warehouse, f"select count(*) from bi.{mart}")[0] == one(warehouse, f"select count(*) from marts.{mart}")[0]
    bi_columns = {row[0] for row in warehouse.execute(
        "select column_name from information_schema.columns where table_catalog = current_database() "
        "and table_schema = 'bi' and table_name in ('sales_rep_performance', 'sales_leads', 'sales_opportunities')").fetchall()}
    assert {"rep_name_hash", "lead_company_hash", "opportunity_name_hash"} <= bi_columns
    assert not {"rep_name", "lead_company", "opportunity_name"} & bi_columns


def test_sales_opportunities_reconcile_with_core(warehouse: duckdb.DuckDBPyConnection) -> None:
    mart = one(warehouse, "select count(*), sum(amount), sum(case when is_won then amount end), "
                          "count(*) filter (where is_won and not is_closed) from marts.sales_opportunities")
    core = one(warehouse, "select count(*), sum(amount), sum(case when stage = 'closed_won' then amount end) "
                          "from core.snp_erp__opportunities where dbt_valid_to is null")
    assert mart[0] == core[0] > 50
    assert mart[1] == core[1]  # every amount is in EUR in the simulated sources: nothing converted
    assert mart[2] == core[2]
    assert mart[3] == 0
    # the semantic layer's columns
    columns = {row[0] for row in warehouse.execute(
        "select column_name from information_schema.columns where table_catalog = current_database() "
        "and table_schema = 'marts' and table_name = 'sales_opportunities'").fetchall()}
    assert {"opportunity_id", "customer_id", "owner_employee_id", "created_date", "closed_date", "is_closed", "is_won",
            "amount", "deal_size_band", "customer_segment"} <= columns
    bad_band = one(warehouse, """select count(*) from marts.sales_opportunities where not (
        (deal_size_band = 'small' and amount < 1000) or (deal_size_band = 'medium' and amount >= 1000 and amount < 5000)
        or (deal_size_band = 'large' and amount >= 5000 and amount < 20000) or (deal_size_band = 'very_large' and amount >= 20000))""")
    assert bad_band[0] == 0
    assert one(warehouse, "select count(*) from marts.sales_opportunities where is_closed and closed_date < created_date")[0] == 0


def test_lead_funnel_is_monotone_and_reconciles(warehouse: duckdb.DuckDBPyConnection) -> None:
    violations = one(warehouse, """select count(*) from marts.sales_lead_funnel
        where not (n_leads >= n_contacts and n_contacts >= n_opportunities and n_opportunities >= n_won
                   and n_leads >= n_customers and n_customers >= n_won and n_leads >= n_real_prospects)""")
    assert violations[0] == 0
    totals = one(warehouse, "select sum(n_leads), sum(n_won), sum(n_real_prospects) from marts.sales_lead_funnel")
    assert totals[0] == one(warehouse, "select count(*) from core.fct_lead_conversions")[0]
    assert 0 < totals[1] < totals[0] and 0 < totals[2] < totals[0]
    # a won lead's opportunity is won in the ERP
    wrong = one(warehouse, """select count(*) from marts.sales_leads as l
        join core.snp_erp__opportunities as o on o.opportunity_id = l.opportunity_id and o.dbt_valid_to is null
        where l.reached_won <> (o.stage = 'closed_won')""")
    assert wrong[0] == 0
    # the score rule: disqualified leads score 0, real prospects score at least 50
    assert one(warehouse, "select count(*) from marts.sales_leads where lead_status = 'disqualified' and lead_score <> 0")[0] == 0
    assert one(warehouse, "select count(*) from marts.sales_leads where is_real_prospect <> (lead_score >= 50)")[0] == 0
    # lead quality differs by source in the simulated data (Q1): referrals beat cold calls
    by_source = dict(warehouse.execute(
        "select lead_source, sum(n_won) / sum(n_leads) from marts.sales_lead_funnel group by 1").fetchall())
    assert by_source["referral"] > by_source["cold_call"]


@pytest.mark.parametrize("mart, column", [("sales_pipeline", "win_rate"), ("sales_rep_performance", "win_rate"),
                                          ("sales_rep_performance", "peer_win_rate"), ("sales_lead_funnel", "win_rate"),
                                          ("sales_lead_funnel", "contact_rate"), ("marketing_campaign_performance", "response_rate")])
def test_rates_are_shares(warehouse: duckdb.DuckDBPyConnection, mart: str, column: str) -> None:
    n, outside = one(warehouse, f"select count({column}), count(*) filter (where {column} < 0 or {column} > 1) from marts.{mart}")
    assert n > 0 and outside == 0


def test_rep_performance_adds_up_to_the_opportunities(warehouse: duckdb.DuckDBPyConnection) -> None:
    reps = one(warehouse, "select sum(n_opportunities), sum(n_won), sum(won_amount) from marts.sales_rep_performance")
    opps = one(warehouse, "select count(*), count(*) filter (where is_won), sum(amount) filter (where is_won) "
                          "from marts.sales_opportunities")
    assert reps == opps
    assert one(warehouse, "select count(*) from marts.sales_rep_performance where rank_in_segment_band = 1")[0] == \
        one(warehouse, "select count(distinct (customer_segment, deal_size_band)) from marts.sales_rep_performance")[0]


def test_quote_price_dispersion(warehouse: duckdb.DuckDBPyConnection) -> None:
    bad = one(warehouse, """select count(*) from marts.sales_quote_price_dispersion
        where price_spread < 0 or stddev_unit_price < 0 or rep_price_gap < 0 or min_unit_price > max_unit_price
           or (is_dispersed_across_reps and (n_reps < 2 or price_spread = 0))""")
    assert bad[0] == 0
    # the simulator has a second rep quote the same customer (Q12): some must show up
    dispersed = one(warehouse, "select count(*) from marts.sales_quote_price_dispersion where is_dispersed_across_reps")[0]
    assert dispersed > 0
    # recomputed from core: quote lines per resolved customer and product with two reps and two prices
    core = one(warehouse, f"""select count(*) from (
        select customer_key, product_id from core.fct_quote_lines
        where has_quote_header and unit_price is not null and customer_key <> {UNKNOWN_KEY}
        group by 1, 2 having count(distinct employee_id) >= 2 and min(unit_price) < max(unit_price))""")[0]
    assert dispersed == core


def test_price_history_carries_value_groups(warehouse: duckdb.DuckDBPyConnection) -> None:
    n_orders, n_quotes, with_group = one(warehouse, """select count(*) filter (where event_type = 'order'),
        count(*) filter (where event_type = 'quote'), count(*) filter (where value_group <> 'no_value')
        from marts.sales_price_history""")
    assert n_orders == one(warehouse, "select count(*) from core.fct_order_lines where quantity > 0 and has_order_header")[0]
    assert n_quotes == one(warehouse, "select count(*) from core.fct_quote_lines where has_quote_header")[0]
    assert with_group > n_orders / 2
    assert one(warehouse, "select count(*) from marts.sales_price_history where discount_pct < -0.01 or discount_pct > 1")[0] == 0


def test_campaign_attribution_counts_each_order_once(warehouse: duckdb.DuckDBPyConnection) -> None:
    attributed, revenue, margin = one(warehouse, """select sum(n_attributed_orders), sum(attributed_revenue),
        sum(attributed_margin) from marts.marketing_campaign_performance""")
    kept_orders, kept_revenue = one(warehouse, f"""select count(*), sum(revenue) from core.fct_orders
        where not is_cancelled and customer_key <> {UNKNOWN_KEY}""")
    assert 0 < attributed <= kept_orders
    assert 0 < revenue <= kept_revenue and margin <= revenue
    assert one(warehouse, "select count(*) from marts.marketing_campaign_performance")[0] == \
        one(warehouse, "select count(*) from core.dim_campaign where campaign_id is not null")[0]
    assert one(warehouse, """select count(*) from marts.marketing_campaign_performance
        where cost > 0 and abs(roi - (attributed_margin - cost) / cost) > 1e-9""")[0] == 0
    assert one(warehouse, "select sum(cost) from marts.marketing_campaign_performance")[0] == \
        one(warehouse, "select sum(actual_cost) from core.dim_campaign where campaign_id is not null")[0]


def test_sends_after_opt_out_are_after_an_opt_out_in_core(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = one(warehouse, "select count(*) from marts.marketing_sends_after_opt_out")[0]
    assert rows > 0, "the simulator lets a few sends through after an opt-out (Q15)"
    # each one: an opt-out of that contact and channel before the send, and no opt-in between the two
    confirmed = one(warehouse, """select count(*) from marts.marketing_sends_after_opt_out as s
        where exists (select 1 from core.fct_consent_events as c
                      where c.consent_id = s.opt_out_consent_id and c.contact_id = s.contact_id
                        and c.channel_code = s.channel_code and c.is_opt_out and c.effective_at <= s.sent_at)
          and not exists (select 1 from core.fct_consent_events as c
                          where c.contact_id = s.contact_id and c.channel_code = s.channel_code
                            and not c.is_opt_out and c.effective_at > s.opted_out_at and c.effective_at <= s.sent_at)""")[0]
    assert confirmed == rows
    # and none is missing: sends in core after an opt-out with no later opt-in
    expected = one(warehouse, """select count(*) from core.fct_campaign_touches as t
        where t.touch_type = 'send' and exists (
            select 1 from core.fct_consent_events as o
            where o.contact_id = t.contact_id and o.channel_code = t.channel_code and o.is_opt_out
              and o.effective_at <= t.touched_at
              and not exists (select 1 from core.fct_consent_events as i
                              where i.contact_id = o.contact_id and i.channel_code = o.channel_code and not i.is_opt_out
                                and i.effective_at > o.effective_at and i.effective_at <= t.touched_at))""")[0]
    assert rows == expected


def test_unconfirmed_registrations(warehouse: duckdb.DuckDBPyConnection) -> None:
    total, unconfirmed = one(warehouse, "select count(*), count(*) filter (where is_unconfirmed) "
                                        "from marts.marketing_event_registrations")
    # recomputed from core: never confirmed, or confirmed more than 24 hours (the default SLA) after registering
    core_total, core_unconfirmed = one(warehouse, """select count(*), count(*) filter (
            where confirmation_sent_at is null or confirmation_sent_at > touched_at + interval 24 hour)
        from core.fct_campaign_touches where touch_type = 'registration'""")
    assert (total, unconfirmed) == (core_total, core_unconfirmed)
    assert total > 0
    assert one(warehouse, "select count(*) from marts.marketing_event_registrations where hours_to_confirmation < 0")[0] == 0


def test_duplicate_sends_come_from_two_departments_in_core(warehouse: duckdb.DuckDBPyConnection) -> None:
    flagged = one(warehouse, "select count(*) from marts.marketing_duplicate_sends where is_sent_by_two_departments")[0]
    expected = one(warehouse, f"""select count(*) from (
        select t.customer_key, c.material_code from core.fct_campaign_touches as t
        join core.dim_campaign as c on c.campaign_key = t.campaign_key
        where t.touch_type = 'send' and c.material_code is not null and t.customer_key <> {UNKNOWN_KEY}
        group by 1, 2 having count(distinct coalesce(t.department_code, c.department_code)) >= 2)""")[0]
    assert flagged == expected > 0


def test_web_visitors_and_followup(warehouse: duckdb.DuckDBPyConnection) -> None:
    visitors, known, visits = one(warehouse, """select count(distinct visitor_id),
        count(distinct visitor_id) filter (where is_known_customer), sum(n_visits) from marts.marketing_web_visitors""")
    assert visits == one(warehouse, "select count(*) from staging.stg_crm__web_visits where visitor_id is not null")[0]
    assert 0 < known < visitors
    tops = one(warehouse, """select count(*) from (select visitor_id from marts.marketing_web_visitors
        group by 1 having sum(case when is_top_interest then 1 else 0 end) > 1)""")[0]
    assert tops == 0
    followup = one(warehouse, "select count(*) from marts.marketing_campaign_followup")[0]
    assert followup == one(warehouse, "select count(*) from core.fct_campaign_touches")[0]
    trade_show = one(warehouse, """select count(*), count(*) filter (where lead_reached_contact)
        from marts.marketing_campaign_followup where campaign_type = 'trade_show' and lead_id is not null""")
    assert trade_show[0] > trade_show[1] > 0


def compiled_analysis(settings: Settings, stem: str) -> str:
    path = settings.dbt_target_dir / "compiled" / "crmwh" / "analyses" / f"{stem}.sql"
    assert path.is_file(), f"dbt compile did not write {path}"
    return path.read_text()


def test_analyses_answer_their_questions(published_warehouse: Settings,  # noqa: F811
                                         warehouse: duckdb.DuckDBPyConnection) -> None:
    folder = dbt_project_dir() / "analyses"
    for stem in ANALYSES:
        first_line = (folder / f"{stem}.sql").read_text().splitlines()[0]
        assert re.match(rf"-- Q0?{int(stem[1:3])}: \S", first_line), f"{stem}: first line must be '-- QNN: <question>'"
    selectors = [f"path:analyses/{stem}.sql" for stem in ANALYSES]
    result = run_dbt(published_warehouse, ["compile", "--select", *selectors])
    assert result.ok, result.failures
    for stem, check in ANALYSES.items():
        sql = compiled_analysis(published_warehouse, stem)
        warehouse.execute(f"create or replace temp table result as {sql}")
        n = one(warehouse, "select count(*) from temp.result")[0]
        assert n > 0, f"{stem} returned no rows"
        assert one(warehouse, check)[0] is True, f"{stem}: rows fail the sanity check: {check}"

