"""Erase one person's personal data from landed files, keeping every record (and line) in place.

CSV and JSON-lines files are rewritten line by line: a line that is the person's
own record (parsed by its header / keys, judged by ``Subject.owns_fields``; a line
that does not parse is theirs when one of their ids occurs in it) gets its
personal fields replaced by the placeholder, and every line gets the person's
specific values replaced in its text. Everything else stays byte for byte, so a
malformed line is still malformed and the file still has as many records.
Parquet files go through a scratch DuckDB table and the same SQL as the warehouse.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from crmwh.privacy.sql import key_values, scrub_table, text_columns, values_statement
from crmwh.privacy.subject import (
    EMAIL_COLUMNS,
    PHONE_COLUMNS,
    PII_COLUMNS,
    Subject,
    email_key,
    phone_key,
    salted_hash,
)
from ingestion.warehouse import quote_ident

TEXT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass
class Found:
    """Personal values and e-mail / phone keys seen in the person's own records."""

    values: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)

    def add_fields(self, fields: dict[str, str | None]) -> None:
        for name, value in fields.items():
            if value is None or not value.strip() or name not in PII_COLUMNS:
                continue
            self.values.add(value.strip())
            if name in EMAIL_COLUMNS and (key := email_key(value)):
                self.emails.add(key)
            if name in PHONE_COLUMNS and (key := phone_key(value)):
                self.phones.add(key)
        first, last = fields.get("first_name"), fields.get("last_name")
        if first and last:
            self.values |= {f"{first} {last}", f"{last}, {first}", f"{last} {first}"}

    def update(self, other: "Found") -> None:
        self.values |= other.values
        self.emails |= other.emails
        self.phones |= other.phones


def file_format(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "parquet" if suffix == ".parquet" else TEXT_FORMATS.get(suffix)


# --------------------------------------------------------------------------- text files


def _split_lines(path: Path) -> list[str]:
    """Lines with their line break; undecodable bytes survive the round trip (surrogateescape)."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _csv_fields(line: str, header: list[str]) -> dict[str, str | None] | None:
    try:
        values = next(csv.reader([line], strict=True))
    except (csv.Error, StopIteration):
        return None
    if len(values) != len(header):
        return None
    return {name: (value if value != "" else None) for name, value in zip(header, values)}


def _json_fields(line: str) -> dict[str, str | None] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    return {str(key).lower(): (value if isinstance(value, str) else
                               None if value is None or isinstance(value, (dict, list)) else str(value))
            for key, value in record.items()}


def _parsed_lines(path: Path, fmt: str) -> list[tuple[str, str, dict[str, str | None] | None]]:
    """``(body, line_end, fields)`` per line; the CSV header line has fields None and is never changed."""
    lines = _split_lines(path)
    header: list[str] | None = None
    parsed = []
    for number, line in enumerate(lines):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        fields = None
        if fmt == "csv":
            if number == 0:
                header = [name.lower() for name in next(csv.reader([body.lstrip("\ufeff")]), [])]
            elif header:
                fields = _csv_fields(body, header)
        elif body.strip():
            fields = _json_fields(body)
        parsed.append((body, end, fields))
    return parsed


def _mentions(subject: Subject, body: str, tokens: re.Pattern[str] | None) -> bool:
    """A line that does not parse is the person's when one of their ids or e-mails occurs in it."""
    if tokens is not None and tokens.search(body):
        return True
    return any(salted_hash(email.lower()) in subject.email_hashes for email in EMAIL_IN_TEXT.findall(body))


def _token_regex(subject: Subject) -> re.Pattern[str] | None:
    ids = sorted(subject.source_ids | subject.node_ids, key=lambda v: (-len(v), v))
    if not ids:
        return None
    return re.compile(r"(?<![A-Za-z0-9_-])(?:" + "|".join(re.escape(i) for i in ids) + r")(?![A-Za-z0-9_-])")


def _value_regexes(subject: Subject) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    strong, weak = subject.strong_values, subject.weak_values
    strong_re = re.compile("|".join(re.escape(v) for v in strong), re.IGNORECASE) if strong else None
    weak_re = (re.compile(r"(?<!\w)(?:" + "|".join(re.escape(v) for v in weak) + r")(?!\w)", re.IGNORECASE)
               if weak else None)
    return strong_re, weak_re


def _owned(subject: Subject, body: str, fields: dict[str, str | None] | None,
           tokens: re.Pattern[str] | None) -> bool:
    return subject.owns_fields(fields) if fields is not None else bool(body.strip()) and _mentions(subject, body, tokens)


def collect_text_file(path: Path, fmt: str, subject: Subject) -> Found:
    found = Found()
    tokens = _token_regex(subject)
    for body, _, fields in _parsed_lines(path, fmt):
        if fields is not None and _owned(subject, body, fields, tokens):
            found.add_fields(fields)
    return found


def _erase_field_literals(body: str, fmt: str, fields: dict[str, str | None], placeholder: str) -> str:
    """Replace the person's own personal fields where they stand as whole values in the line."""
    values = sorted({v for name, v in fields.items() if name in PII_COLUMNS and v and v.strip()},
                    key=lambda v: (-len(v), v))
    for value in values:
        if fmt == "jsonl":
            for encoded in {json.dumps(value, ensure_ascii=False), json.dumps(value)}:
                body = body.replace(encoded, json.dumps(placeholder))
        else:
            body = body.replace('"' + value.replace('"', '""') + '"', f'"{placeholder}"')
            body = re.sub(r"(^|,)" + re.escape(value) + r"(?=,|$)", lambda m: m.group(1) + placeholder, body)
    return body


def scrub_text_file(path: Path, fmt: str, subject: Subject) -> bytes | None:
    """The file's new bytes, or None when nothing of the person's is in it."""
    tokens = _token_regex(subject)
    strong_re, weak_re = _value_regexes(subject)
    placeholder = subject.placeholder
    out, changed = [], False
    for number, (body, end, fields) in enumerate(_parsed_lines(path, fmt)):
        new = body
        if not (fmt == "csv" and number == 0):
            if _owned(subject, body, fields, tokens):
                if fields is not None:
                    new = _erase_field_literals(new, fmt, fields, placeholder)
                if weak_re is not None:
                    new = weak_re.sub(placeholder, new)
            if strong_re is not None:
                new = strong_re.sub(placeholder, new)
        changed = changed or new != body
        out.append(new + end)
    return "".join(out).encode("utf-8", errors="surrogateescape") if changed else None


# --------------------------------------------------------------------------- Parquet


def _scratch(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create table scratch as select * from read_parquet(?)", [str(path)])
    return con


def collect_parquet(path: Path, subject: Subject) -> Found:
    found = Found()
    con = _scratch(path)
    try:
        columns = text_columns(con).get(("main", "scratch"), [])
        query = values_statement(quote_ident("scratch"), columns, subject)
        if query:
            found.values |= {row[0].strip() for row in con.execute(query).fetchall() if row[0]}
        found.emails, found.phones = key_values(con, quote_ident("scratch"), columns, subject)
    finally:
        con.close()
    return found


def scrub_parquet(path: Path, subject: Subject, temporary: Path) -> bool:
    """Write the scrubbed file to ``temporary``; False (nothing written) when nothing changed."""
    con = _scratch(path)
    try:
        columns = text_columns(con).get(("main", "scratch"), [])
        changed = scrub_table(con, quote_ident("scratch"), columns, subject)
        if changed:
            con.execute(f"copy scratch to '{str(temporary).replace(chr(39), chr(39) * 2)}' (format parquet)")
    finally:
        con.close()
    return bool(changed)


# --------------------------------------------------------------------------- any file


def collect_file(path: Path, subject: Subject) -> Found:
    fmt = file_format(path)
    if fmt is None:
        return Found()
    return collect_parquet(path, subject) if fmt == "parquet" else collect_text_file(path, fmt, subject)


def temporary_for(path: Path) -> Path:
    """A dot file beside ``path``: the loader never reads dot files, so a half-written one is harmless."""
    return path.with_name(f".{path.name}.erase.{os.getpid()}.tmp")


def scrub_file(path: Path, subject: Subject) -> Path | None:
    """Write the file without the person's data to a temporary beside it; None when nothing changed."""
    fmt = file_format(path)
    if fmt is None:
        return None
    temporary = temporary_for(path)
    if fmt == "parquet":
        return temporary if scrub_parquet(path, subject, temporary) else None
    content = scrub_text_file(path, fmt, subject)
    if content is None:
        return None
    temporary.write_bytes(content)
    return temporary
