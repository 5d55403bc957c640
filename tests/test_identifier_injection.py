"""Identifiers from files stay data (issue 7 item 5); no credential is stored in the repository.

tests/test_torture_ingestion.py already covers hostile file and folder names (INVALID_NAME)
and a PostgreSQL table name carrying SQL; this adds SQL in a valid file's name suffix and in
column names (CSV header and JSON keys), which do reach DDL as quoted identifiers.
"""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from ingestion.night import load_system_night
from ingestion.warehouse import connect, ensure_contract_raw_tables

NIGHT = date(2026, 11, 1)
EVIL_COLUMN = 'x"); drop table audit.load_ledger; --'
REPO = Path(__file__).resolve().parents[1]


def _tables(con) -> set[str]:
    return {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}


def test_sql_in_file_suffix_and_column_names_is_loaded_as_data(tmp_path: Path) -> None:
    folder = tmp_path / "landing" / "erp" / NIGHT.isoformat()
    folder.mkdir(parents=True)
    header = f'order_id,customer_id,order_date,updated_at,status,currency,"{EVIL_COLUMN.replace(chr(34), chr(34) * 2)}"'
    (folder / "orders.x');drop table raw.crm__contacts;--.csv").write_text(f"{header}\nO1,C1,2026-10-01,2026-10-01T00:00:00Z,open,EUR,hello\n")
    (tmp_path / "landing" / "crm" / NIGHT.isoformat()).mkdir(parents=True)
    (tmp_path / "landing" / "crm" / NIGHT.isoformat() / "contacts.jsonl").write_text(
        '{"contact_id": "CT-1", "a\\"; drop schema raw cascade; --": "v", "created_at": "2026-01-01T00:00:00Z",'
        ' "updated_at": "2026-01-01T00:00:00Z"}\n')
    con = connect(tmp_path / "crm.duckdb")
    try:
        ensure_contract_raw_tables(con)
        before = _tables(con)
        erp = load_system_night(con, tmp_path / "landing", "erp", NIGHT)
        crm = load_system_night(con, tmp_path / "landing", "crm", NIGHT)
        assert [r.status for r in erp.results + crm.results] == ["loaded", "loaded"]
        assert before <= _tables(con)  # nothing dropped
        columns = [r[0] for r in con.execute("select column_name from duckdb_columns() where table_name = 'erp__orders'").fetchall()]
        assert EVIL_COLUMN in columns, columns[-2:]
        assert con.execute(f'select "{EVIL_COLUMN.replace(chr(34), chr(34) * 2)}" from raw.erp__orders').fetchall() \
            == [("hello",)]
        assert con.execute("select count(*) from raw.crm__contacts").fetchone()[0] == 1
        assert con.execute("select count(*) from audit.load_ledger").fetchone()[0] == 2
    finally:
        con.close()


SECRET = re.compile(r"(password|passwd|pwd)\s*[=:]\s*['\"]?[^\s'\"$<{]{4,}|postgres(ql)?://[^/\s:@]+:[^@\s$<{]+@",
                    re.IGNORECASE)
ALLOWED = ("tests/", "docker-compose.yml", "docker/")  # throwaway test servers and the local demo stack


def test_no_credentials_in_tracked_files() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    hits = []
    for name in files:
        if name.startswith(ALLOWED):
            continue
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        hits += [f"{name}: {m.group(0)[:40]}" for m in SECRET.finditer(text)]
    assert hits == [], "credentials belong in environment variables: " + "; ".join(hits[:10])


@pytest.mark.parametrize("toml", [
    '[sources."erp\\"; drop table audit.load_ledger; --"]\nkind = "http"\nbase_url_env = "X"\n',
    '[sources."../../etc"]\nkind = "http"\nbase_url_env = "X"\n',
    '[sources.shop]\nkind = "postgres"\ndsn_env = "X"\nentities = {"orders; drop table raw.erp__orders" = "orders"}\n',
])
def test_config_identifiers_with_sql_or_paths_are_refused(tmp_path: Path, toml: str) -> None:
    """Source and entity names from crmwh.toml become folder, file and table names: only plain names pass."""
    from crmwh.config import load_settings
    from crmwh.errors import CrmwhError
    from crmwh.sources_config import load_source_configs

    (tmp_path / "crmwh.toml").write_text(toml, encoding="utf-8")
    settings = load_settings({"CRMWH_HOME": str(tmp_path)})
    with pytest.raises(CrmwhError, match="is not allowed: use letters, digits"):
        load_source_configs(settings)
