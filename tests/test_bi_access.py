"""BI access (issue 5 item 4): the `bi` schema shows no personal data, and BI tools can read it.

(a) Every column of every `bi` view is scanned, on a warehouse built and published by the
    real pipeline pieces, for clear-text e-mails and phone numbers (regex) and for any
    name, e-mail, phone, street, VAT id or company value that core.dim_customer or a
    staging view holds (exact match, and as a substring for the long ones). A positive
    control runs the same scan on core.dim_customer and must find plenty there.
(b) The published file is read through duckdb-engine/SQLAlchemy exactly as Superset does
    (read-only engine, inspector, a query), with both documented ways to ask for read-only.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlalchemy
from sqlalchemy import inspect, text

from crmwh.config import Settings

try:  # tests/ is on sys.path when it has no __init__.py (pytest's default import mode)
    from support.warehouse_fixture import published_warehouse  # noqa: F401  (a fixture)
except ImportError:  # tests/ became a package
    from tests.support.warehouse_fixture import published_warehouse  # noqa: F401

pytestmark = pytest.mark.slow

EXPECTED_BI_VIEWS = {"dim_customer", "customer_value", "customer_value_model_params", "customer_portfolio",
                     "cohort_retention", "repeat_customer_share"}

# Personal-data columns of the staging views (first/last/full names, company and account names,
# e-mails, phones, streets, VAT ids) and of the customer dimension: every value must stay out of `bi`.
PERSONAL_COLUMNS = {
    "core.dim_customer": ["customer_name", "company_name", "email", "phone_e164", "vat_id"],
    "staging.stg_crm__contacts": ["first_name", "last_name", "email", "phone"],
    "staging.stg_crm__leads": ["first_name", "last_name", "company", "email", "phone"],
    "staging.stg_crm__accounts": ["account_name", "phone", "street"],
    "staging.stg_crm__event_registrations": ["email"],
    "staging.stg_crm__web_visits": ["visitor_email"],
    "staging.stg_erp__customers": ["customer_name", "email", "phone", "street", "vat_id"],
    "staging.stg_erp__employees": ["first_name", "last_name", "email"],
    "staging.stg_helpdesk__requesters": ["full_name", "email", "phone"],
    "staging.stg_callcenter__calls": ["caller_phone"],
}
# Full names are personal data even when first and last name are stored apart.
FULL_NAMES = ["staging.stg_crm__contacts", "staging.stg_crm__leads", "staging.stg_erp__employees"]
SUBSTRING_MIN_LENGTH = 8  # shorter values (first names) are only matched exactly: 'anna' occurs inside words

EMAIL_REGEX = r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}"
# International (+41 22 ..., 0041...) or national with a separator ((030) 1234567, 089-123456).
PHONE_REGEX = r"^\s*((\+|00)[1-9][0-9 ()./-]{6,}[0-9]|\(?0[0-9]{1,5}\)?[ /.-][0-9][0-9 ./-]{4,}[0-9])\s*$"


def _attach(path: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory database (for the scan's own tables) with the warehouse attached read-only.

    The warehouse is attached under its file's stem: its views name that catalog.
    """
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"attach '{path}' as \"{path.stem}\" (read_only)")
    con.execute(f"use \"{path.stem}\"")
    return con


def _load_secrets(con: duckdb.DuckDBPyConnection) -> int:
    selects = []
    for relation, columns in PERSONAL_COLUMNS.items():
        for column in columns:
            value = f"lower(trim(cast({column} as varchar)))"
            selects.append(f"select '{relation}.{column}' as origin, {value} as value from {relation}")
            if "phone" in column:  # also as E.164-like digits, how a masked-but-normalised copy would look
                selects.append(f"select '{relation}.{column}', regexp_replace({value}, '[^0-9+]', '', 'g') "
                               f"from {relation}")
    for relation in FULL_NAMES:
        selects.append(f"select '{relation}.full_name', lower(trim(first_name || ' ' || last_name)) from {relation}")
    con.execute("create or replace temp table pii as select distinct origin, value from (" + " union all ".join(selects)
                + ") where value is not null and length(value) >= 3")
    return con.execute("select count(*) from pii").fetchone()[0]


def _scan(con: duckdb.DuckDBPyConnection, schema: str, table_like: str = "%") -> tuple[list[str], int]:
    """Findings (one line each) over every column of the tables/views of ``schema``, and columns scanned."""
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name like ? "
        "order by 1, ordinal_position", [schema, table_like]).fetchall()
    findings = []
    for table, column, data_type in columns:
        values = f"(select distinct lower(trim(cast(\"{column}\" as varchar))) as v from {schema}.\"{table}\" " \
                 f"where \"{column}\" is not null)"
        exact = con.execute(
            f"select count(*), any_value(b.v), any_value(p.origin) from {values} as b join pii as p on p.value = b.v"
        ).fetchone()
        inside = con.execute(
            f"""select count(*), any_value(b.v), any_value(p.origin) from {values} as b
                join pii as p on length(p.value) >= {SUBSTRING_MIN_LENGTH} and b.v <> p.value
                 and contains(b.v, p.value)""").fetchone()
        pattern = con.execute(
            f"""select count(*) filter (where regexp_matches(v, '{EMAIL_REGEX}')),
                       count(*) filter (where regexp_matches(v, '{PHONE_REGEX}')),
                       any_value(v) filter (where regexp_matches(v, '{EMAIL_REGEX}') or regexp_matches(v, '{PHONE_REGEX}'))
                from {values}""").fetchone() if data_type.upper() == "VARCHAR" else (0, 0, None)
        where = f"{schema}.{table}.{column}"
        if exact[0]:
            findings.append(f"{where}: {exact[0]} values equal to {exact[2]}, e.g. {exact[1]!r}")
        if inside[0]:
            findings.append(f"{where}: {inside[0]} values contain {inside[2]}, e.g. {inside[1]!r}")
        if pattern[0] or pattern[1]:
            findings.append(f"{where}: {pattern[0]} e-mail-like and {pattern[1]} phone-like values, "
                            f"e.g. {pattern[2]!r}")
    return findings, len(columns)


def test_bi_schema_has_the_masked_views(published_warehouse: Settings) -> None:
    con = _attach(published_warehouse.warehouse_path)
    try:
        views = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database() "
            "and table_schema = 'bi' and table_type = 'VIEW'").fetchall()}
        assert EXPECTED_BI_VIEWS <= views, f"missing bi views: {EXPECTED_BI_VIEWS - views}"
        for view in EXPECTED_BI_VIEWS:
            assert con.execute(f"select count(*) from bi.{view}").fetchone()[0] > 0, f"bi.{view} is empty"
        # The masks keep joins and counts working: one hash per distinct normalised value, none for null.
        distinct_emails, distinct_hashes, nulls_kept = con.execute(
            """select count(distinct c.email), count(distinct b.email_hash),
                      count(*) filter (where (c.email is null) = (b.email_hash is null))
               from core.dim_customer as c join bi.dim_customer as b using (customer_key)""").fetchone()
        customers = con.execute("select count(*) from core.dim_customer").fetchone()[0]
        assert distinct_emails == distinct_hashes > 100
        assert nulls_kept == customers == con.execute("select count(*) from bi.dim_customer").fetchone()[0]
        assert con.execute("select count(*) from bi.dim_customer where length(email_hash) <> 32").fetchone()[0] == 0
    finally:
        con.close()


def test_no_personal_data_in_bi(published_warehouse: Settings) -> None:
    con = _attach(published_warehouse.warehouse_path)
    try:
        secrets = _load_secrets(con)
        assert secrets > 2000, f"only {secrets} personal values found in core/staging: is the scan reading them?"
        # Positive control: the same scan finds the clear text where it is allowed to be.
        control, _ = _scan(con, "core", "dim_customer")
        assert any(f.startswith("core.dim_customer.email:") for f in control), control
        assert any(f.startswith("core.dim_customer.phone_e164:") for f in control), control
        assert any(f.startswith("core.dim_customer.customer_name:") for f in control), control
        findings, scanned = _scan(con, "bi")
        assert scanned >= 100, f"only {scanned} bi columns scanned"
        assert findings == [], "personal data in the bi schema:\n" + "\n".join(findings)
    finally:
        con.close()


def _bi_columns(inspector: sqlalchemy.Inspector, conn: sqlalchemy.Connection, view: str) -> dict[str, str]:
    """Column name -> type of a bi view, by reflection where the installed SQLAlchemy allows it.

    duckdb-engine 0.17.0 under SQLAlchemy 2.1 reflects columns with PostgreSQL's catalog
    query, which reads pg_catalog.pg_collation, absent from DuckDB 2.0; Superset 6.1 runs
    SQLAlchemy 1.4, whose query does not. Only that known error falls back to
    information_schema, through the same engine.
    """
    try:
        return {c["name"]: str(c["type"]).upper() for c in inspector.get_columns(view, schema="bi")}
    except sqlalchemy.exc.ProgrammingError as error:
        assert "pg_collation" in str(error), error
    rows = conn.execute(text("select column_name, data_type from information_schema.columns "
                             "where table_schema = 'bi' and table_name = :view"), {"view": view}).all()
    return {name: data_type.upper() for name, data_type in rows}


@pytest.mark.parametrize("how", ["connect_args", "uri"])
def test_superset_reads_bi_through_sqlalchemy(published_warehouse: Settings, how: str) -> None:
    """What Superset does with a DuckDB database: read-only engine, list schemas/tables/columns, query."""
    path = published_warehouse.warehouse_path
    assert path.is_absolute()
    if how == "connect_args":
        engine = sqlalchemy.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})
    else:
        engine = sqlalchemy.create_engine(f"duckdb:///{path}?access_mode=read_only")
    assert str(engine.url).startswith("duckdb:////")
    try:
        inspector = inspect(engine)
        # duckdb-engine names schemas after their catalog (the file's stem), as Superset's schema list shows them.
        assert f"{path.stem}.bi" in inspector.get_schema_names()
        # The bi relations are views: Superset lists them with get_view_names (get_table_names has base tables).
        relations = set(inspector.get_table_names(schema="bi")) | set(inspector.get_view_names(schema="bi"))
        assert EXPECTED_BI_VIEWS <= relations, relations
        with engine.connect() as conn:
            columns = _bi_columns(inspector, conn, "customer_value")
            assert {"customer_id", "as_of_date", "current_value", "potential_value", "value_group"} <= set(columns)
            assert columns["current_value"] in {"DOUBLE", "FLOAT", "DOUBLE PRECISION"}
            customer_columns = _bi_columns(inspector, conn, "dim_customer")
            assert "email_hash" in customer_columns and "email" not in customer_columns
            groups = dict(conn.execute(text(
                "select value_group, count(*) from bi.customer_value "
                "where as_of_date = (select max(as_of_date) from bi.customer_value) group by 1")).all())
            assert set(groups) <= {"loyal", "repeat", "prospective", "ordinary"} and sum(groups.values()) > 100
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="(?i)read.only"):
                conn.execute(text("create table bi.superset_scratch as select 1 as x"))
    finally:
        engine.dispose()
