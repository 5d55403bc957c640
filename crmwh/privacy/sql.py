"""SQL that finds and overwrites one person's personal data in any DuckDB table.

The statements are generated per table from its text columns, so they work for
every layer (raw, quarantine, staging, snapshots, core, marts, audit) and for a
Parquet file read into a scratch table, without knowing the models:

* the person's **own rows** (a link column holds one of their ids, or an e-mail /
  phone column hashes to one of theirs) get every personal-data column set to the
  placeholder and their values replaced in every other text column;
* **every other row** gets the person's specific values (e-mail, phone, full name,
  street: see ``subject.is_strong``) replaced in its free-text columns only, so a
  namesake's own name column is never touched.

Only text changes: numbers, dates and keys stay, so facts and totals reconcile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb

from crmwh.privacy.subject import (
    CUSTOMER_COLUMNS,
    EMAIL_COLUMNS,
    HASH_SALT,
    LINK_COLUMNS,
    NODE_COLUMNS,
    PHONE_COLUMNS,
    PHONE_KEY_DIGITS,
    PII_COLUMNS,
    RAW_TEXT_COLUMNS,
    Subject,
    email_key,
    phone_key,
)
from ingestion.warehouse import quote_ident, sql_string

ID_CHARS = "A-Za-z0-9_-"


def sql_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(sql_string(value) for value in sorted(values)) + ")"


def _alternation(values: Iterable[str]) -> str:
    return "(?:" + "|".join(re.escape(value) for value in values) + ")"


def token_pattern(ids: Iterable[str]) -> str | None:
    """RE2 pattern: one of ``ids`` as a whole token (not inside a longer id)."""
    ids = sorted(set(ids), key=lambda v: (-len(v), v))
    if not ids:
        return None
    return f"(^|[^{ID_CHARS}]){_alternation(ids)}($|[^{ID_CHARS}])"


def strong_pattern(subject: Subject) -> str | None:
    values = subject.strong_values
    return "(?i)" + _alternation(values) if values else None


def weak_pattern(subject: Subject) -> str | None:
    """Short values as whole words only; the two groups keep the neighbouring characters."""
    values = subject.weak_values
    return f"(^|[^\\pL\\pN_])(?i:{_alternation(values)})([^\\pL\\pN_]|$)" if values else None


def _phone_digits(column: str) -> str:
    return f"regexp_replace({column}, '[^0-9]', '', 'g')"


def owned_sql(columns: list[str], subject: Subject) -> str | None:
    """A boolean SQL expression: is the row one of the person's own? (None: the table cannot tell.)"""
    parts = []
    tokens = token_pattern(subject.source_ids | subject.node_ids)
    for column in columns:
        name, q = column.lower(), quote_ident(column)
        if name in LINK_COLUMNS and subject.source_ids:
            parts.append(f"{q} in {sql_list(subject.source_ids)}")
        if name in NODE_COLUMNS and subject.node_ids:
            parts.append(f"{q} in {sql_list(subject.node_ids)}")
        if name in CUSTOMER_COLUMNS and subject.customer_key:
            parts.append(f"{q} = {sql_string(subject.customer_key)}")
        if name in EMAIL_COLUMNS and subject.email_hashes:
            parts.append(f"sha256({sql_string(HASH_SALT)} || lower(trim({q}))) in {sql_list(subject.email_hashes)}")
        if name in PHONE_COLUMNS and subject.phone_hashes:
            digits = _phone_digits(q)
            parts.append(f"(length({digits}) >= 7 and sha256({sql_string(HASH_SALT)} || "
                         f"right({digits}, {PHONE_KEY_DIGITS})) in {sql_list(subject.phone_hashes)})")
        if name in RAW_TEXT_COLUMNS and tokens:
            parts.append(f"regexp_matches({q}, {sql_string(tokens)})")
    return "coalesce(" + " or ".join(parts) + ", false)" if parts else None


def _same_customer_sql(columns: list[str], subject: Subject) -> str | None:
    if not subject.same_customer_key:
        return None
    parts = [f"{quote_ident(c)} = {sql_string(subject.same_customer_key)}" for c in columns
             if c.lower() in CUSTOMER_COLUMNS]
    return "coalesce(" + " or ".join(parts) + ", false)" if parts else None


def _replace(expression: str, pattern: str | None, replacement: str) -> str:
    if pattern is None:
        return expression
    return f"regexp_replace({expression}, {sql_string(pattern)}, {sql_string(replacement)}, 'g')"


def _new_value(column: str, group: str, subject: Subject) -> str | None:
    """The column's value after erasure for rows of ``group`` (own, same_customer, other); None: unchanged."""
    q = quote_ident(column)
    strong, weak = strong_pattern(subject), weak_pattern(subject)
    if column.lower() in PII_COLUMNS:
        if group == "own":
            return f"case when nullif(trim({q}), '') is not null then {sql_string(subject.placeholder)} else {q} end"
        if group == "same_customer" and strong:
            return _replace(q, strong, subject.placeholder)
        return None  # a namesake's own name column is theirs
    new = _replace(q, strong, subject.placeholder)
    if group == "own":
        new = _replace(new, weak, "\\1" + subject.placeholder + "\\2")
    return new if new != q else None


def _candidate_rows(con: duckdb.DuckDBPyConnection, table: str, columns: list[str],
                    subject: Subject) -> dict[str, list[int]]:
    """Row ids worth a look, by group: own rows, the customer's other rows, rows quoting a specific value."""
    owned = owned_sql(columns, subject) or "false"
    same_customer = _same_customer_sql(columns, subject) or "false"
    strong = strong_pattern(subject)
    quoted = "false"
    if strong:
        quoted = f"regexp_matches(concat_ws(chr(31), {', '.join(quote_ident(c) for c in columns)}), {sql_string(strong)})"
    rows = con.execute(
        f"""select rowid, case when {owned} then 'own' when {same_customer} then 'same_customer' else 'other' end
            from {table} where {owned} or {same_customer} or {quoted}"""
    ).fetchall()
    groups: dict[str, list[int]] = {}
    for row_id, group in rows:
        groups.setdefault(group, []).append(int(row_id))
    return groups


def scrub_table(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], subject: Subject) -> int:
    """Overwrite the person's data in one table (its text ``columns``); returns the rows changed.

    A cheap filter finds the candidate rows first (own rows, or a specific value somewhere in
    the row's text), so the replacements run on a handful of rows, not the whole table.
    """
    changed_rows = 0
    for group, row_ids in _candidate_rows(con, table, columns, subject).items():
        changes = [(quote_ident(c), new) for c in columns if (new := _new_value(c, group, subject)) is not None]
        if not changes:
            continue
        assignments = ", ".join(f"{q} = {new}" for q, new in changes)
        changed = " or ".join(f"({new}) is distinct from {q}" for q, new in changes)
        for start in range(0, len(row_ids), 10000):
            batch = ", ".join(str(row_id) for row_id in row_ids[start:start + 10000])
            changed_rows += int(con.execute(
                f"update {table} set {assignments} where rowid in ({batch}) and ({changed})").fetchone()[0])
    return changed_rows


def values_statement(table_sql: str, columns: list[str], subject: Subject) -> str | None:
    """``select`` of the personal values in the person's own rows of one table (one column ``value``)."""
    owned = owned_sql(columns, subject)
    pii = [c for c in columns if c.lower() in PII_COLUMNS]
    if owned is None or not pii:
        return None
    expressions = [quote_ident(c) for c in pii]
    by_name = {c.lower(): quote_ident(c) for c in columns}
    if "first_name" in by_name and "last_name" in by_name:  # full names, as free text would spell them
        first, last = by_name["first_name"], by_name["last_name"]
        expressions += [f"{first} || ' ' || {last}", f"{last} || ', ' || {first}", f"{last} || ' ' || {first}"]
    return (f"select distinct value from (select unnest([{', '.join(expressions)}]) as value "
            f"from {table_sql} where {owned}) where value is not null")


def text_columns(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[tuple[str, str], list[str]]:
    """``(schema, table) -> text columns`` of every base table (views follow their tables)."""
    rows = con.execute(
        """select c.schema_name, c.table_name, c.column_name
           from duckdb_columns() as c
           inner join duckdb_tables() as t
               on t.database_name = c.database_name and t.schema_name = c.schema_name and t.table_name = c.table_name
           where c.database_name = coalesce(?, current_database()) and not t.temporary
             and c.data_type = 'VARCHAR'
           order by c.schema_name, c.table_name, c.column_index""",
        [catalog],
    ).fetchall()
    tables: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        tables.setdefault((schema, table), []).append(column)
    return tables


def table_sql(schema: str, table: str, catalog: str | None = None) -> str:
    prefix = f"{quote_ident(catalog)}." if catalog else ""
    return f"{prefix}{quote_ident(schema)}.{quote_ident(table)}"


def key_values(con: duckdb.DuckDBPyConnection, table: str, columns: list[str],
               subject: Subject) -> tuple[set[str], set[str]]:
    """E-mail and phone keys (``subject.email_key`` / ``phone_key``) in the person's own rows of one table."""
    owned = owned_sql(columns, subject)
    emails: set[str] = set()
    phones: set[str] = set()
    if owned is None:
        return emails, phones
    for column in columns:
        name = column.lower()
        if name not in EMAIL_COLUMNS and name not in PHONE_COLUMNS:
            continue
        rows = con.execute(f"select distinct {quote_ident(column)} from {table} where {owned}").fetchall()
        for (value,) in rows:
            if name in EMAIL_COLUMNS and (key := email_key(value)):
                emails.add(key)
            elif name in PHONE_COLUMNS and (key := phone_key(value)):
                phones.add(key)
    return emails, phones
