"""Pulled sources through the night's steps: land from a real PostgreSQL and a real HTTP API, then load."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from crmwh.config import load_settings
from crmwh.pipeline import steps
from ingestion.warehouse import connect

try:
    from support.http_api_server import ApiServer
except ImportError:
    from tests.support.http_api_server import ApiServer

NIGHT = date(2026, 11, 2)


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRMWH_HOME", str(tmp_path))
    for name in ("CRMWH_CONFIG", "CRMWH_LANDING_DIR", "CRMWH_WAREHOUSE", "CRMWH_WORK_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_sql_and_http_sources_land_and_load_incrementally(home, postgres_server, monkeypatch):
    dsn = postgres_server.create_database("erp_pull")
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("""create table quotas (quota_id text primary key, employee_id text, period_month date,
                      quota_amount numeric(18,2), updated_at timestamptz)""")
        pg.execute("""insert into quotas values ('Q1', 'E1', '2026-11-01', 1000, '2026-11-01 10:00+00'),
                                                ('Q2', 'E2', '2026-11-01', 2000, '2026-11-01 11:00+00')""")
    tickets = [{"ticket_id": f"T{i}", "requester_id": "R1", "category": "how_to", "priority": "low",
                "status": "new", "created_at": f"2026-11-01T0{i}:00:00Z", "updated_at": f"2026-11-01T0{i}:00:00Z"}
               for i in range(1, 6)]
    with ApiServer({"tickets": tickets}) as api:
        base_url = api.base_url
        (home / "crmwh.toml").write_text(
            '[sources.erp]\nkind = "postgres"\ndsn_env = "TEST_ERP_DSN"\nentities = { quotas = "public.quotas" }\n'
            '[sources.helpdesk]\nkind = "http"\nbase_url_env = "TEST_HELPDESK_API"\nentities = ["tickets"]\n'
        )
        monkeypatch.setenv("TEST_ERP_DSN", dsn)
        monkeypatch.setenv("TEST_HELPDESK_API", api.base_url)
        settings = load_settings()
        assert steps.begin_night(night=NIGHT, run_id="r1", settings=settings)["systems"] == ["erp", "helpdesk"]
        for system in ("erp", "helpdesk"):
            steps.land_system(system=system, night=NIGHT, run_id="r1", settings=settings)
            steps.load_system(system=system, night=NIGHT, run_id="r1", settings=settings)
            steps.reconcile_system(system=system, night=NIGHT, run_id="r1", settings=settings)

        # The next night: one update in each source; only that lands.
        with psycopg.connect(dsn, autocommit=True) as pg:
            pg.execute("update quotas set quota_amount = 1500, updated_at = '2026-11-02 09:00+00' where quota_id = 'Q1'")
        api.records["tickets"].append({**tickets[0], "status": "solved", "updated_at": "2026-11-02T09:00:00Z"})
        later = date(2026, 11, 3)
        for system in ("erp", "helpdesk"):
            steps.land_system(system=system, night=later, run_id="r2", settings=settings)
            steps.load_system(system=system, night=later, run_id="r2", settings=settings)

    con = connect(settings.build_db_path, read_only=True)
    try:
        ledger = con.execute(
            "select night, source_system, source_kind, rows_in, rows_loaded, location from audit.load_ledger order by 1, 2"
        ).fetchall()
        assert [(n, s, k, i, l) for n, s, k, i, l, _ in ledger] == [
            (NIGHT, "erp", "sql", 2, 2), (NIGHT, "helpdesk", "http", 5, 5),
            (later, "erp", "sql", 1, 1), (later, "helpdesk", "http", 1, 1)]
        assert "quotas" in ledger[0][5] and ledger[1][5].startswith(base_url)
        assert con.execute("select quota_id, quota_amount from raw.erp__quotas order by _night, quota_id").fetchall() \
            == [("Q1", "1000.00"), ("Q2", "2000.00"), ("Q1", "1500.00")]
        assert con.execute("select count(*), count(distinct ticket_id) from raw.helpdesk__tickets").fetchone() == (6, 5)
    finally:
        con.close()
