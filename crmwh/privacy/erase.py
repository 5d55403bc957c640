"""``crmwh erase``: remove one customer's personal data from every layer, keep the facts.

What happens, in order (run it again after an interruption: every step is idempotent):

1. **Who.** ``--customer`` is a ``customer_key`` of ``core.dim_customer``; its source
   records are the rows of ``core.bridge_customer_source_id``. ``--source-id`` erases
   one source record (``<system>:<entity>:<id>`` or ``<system>:<id>``).
2. **What.** Their personal values are read from their own rows in every table
   (``sql.values_statement``) and their own lines in every landed file; their
   e-mails and phones then also find records no id links (a web visit by e-mail).
3. **Files.** Every landed file holding any of it is rewritten beside itself
   (same records, same lines; ``files``). The loader identifies a file by the
   SHA-256 of its bytes, so the ledger row of a rewritten file (and the
   ``_load_id``/``load_id`` of its rows everywhere) moves to the new checksum's
   load id: a re-run of that night sees the rewritten file as already loaded.
4. **Build database**, one transaction: every base table of every schema is
   scrubbed (``sql.scrub_table``; views, such as ``bi``, follow), the ledger
   is retargeted, and ``audit.erasures`` (who, when, tables and rows changed, never
   a value) and the tombstone ``audit.erasure_subjects`` (ids and salted hashes
   of e-mails / phones) are written. Then the temporary files replace the originals.
5. **Published warehouse**: republished whole (``crmwh.pipeline.publish``) when the
   build database is the last published state; otherwise (a later night failed)
   a copy of the published file is scrubbed the same way and swapped in atomically.

Later nights: ``apply_erasure_list`` (call it before a system's night is loaded)
rewrites that night's landed files for every tombstoned person, so a source that
still sends the person's record (same id, or a new record with their e-mail /
phone) never brings the values back into raw, quarantine, snapshots or marts.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from crmwh.config import Settings
from crmwh.errors import CrmwhError
from crmwh.pipeline.audit import utcnow
from crmwh.pipeline.publish import publish
from crmwh.privacy.files import Found, collect_file, file_format, scrub_file
from crmwh.privacy.sql import (
    key_values,
    scrub_table,
    table_sql,
    text_columns,
    values_statement,
)
from crmwh.privacy.subject import Subject
from ingestion.landing import entity_of, is_source_folder
from ingestion.loader import file_checksum, make_load_id
from ingestion.warehouse import connect, quote_ident

Progress = Callable[[str], None]

ERASURES_DDL = """
create table if not exists audit.erasures (
    erasure_id varchar not null,
    customer_key varchar,                -- the erased customer (null for a single --source-id)
    requested varchar not null,          -- what was asked: customer:<key> or source:<system>:<entity>:<id>
    erased_at timestamp not null,
    tables_touched varchar[] not null,   -- schema.table of every table with a changed row
    rows_changed bigint not null,
    files_rewritten bigint not null,
    published boolean not null
)
"""
SUBJECTS_DDL = """
create table if not exists audit.erasure_subjects (
    erasure_id varchar not null,
    token varchar not null,              -- placeholder suffix: erased-<token>
    kind varchar not null,               -- customer_key, source_id, node_id, email_sha256, phone_sha256
    value varchar not null               -- an id, or a salted sha256 (never a personal value)
)
"""
SKIPPED_TABLES = {("audit", "erasures"), ("audit", "erasure_subjects")}
LOAD_ID_COLUMNS = ("_load_id", "load_id")


@dataclass
class ErasureResult:
    erasure_id: str
    requested: str
    customer_key: str | None
    rows_by_table: dict[str, int] = field(default_factory=dict)
    files_rewritten: int = 0
    published: Path | None = None

    @property
    def rows_changed(self) -> int:
        return sum(self.rows_by_table.values())

    def summary(self) -> str:
        where = f"; republished {self.published}" if self.published else "; no published warehouse yet"
        return (f"erased {self.requested} (erasure {self.erasure_id}): {self.rows_changed} rows in "
                f"{len(self.rows_by_table)} tables, {self.files_rewritten} landed files rewritten{where}")


# --------------------------------------------------------------------------- bookkeeping tables


def ensure_erasure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(ERASURES_DDL)
    con.execute(SUBJECTS_DDL)


def load_tombstones(con: duckdb.DuckDBPyConnection) -> list[Subject]:
    """Every erased person, as ids and hashes only (no values), from ``audit.erasure_subjects``."""
    if not con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                       "and schema_name = 'audit' and table_name = 'erasure_subjects'").fetchone()[0]:
        return []
    rows = con.execute("select erasure_id, token, kind, value from audit.erasure_subjects "
                       "order by erasure_id").fetchall()
    grouped: dict[tuple[str, str], dict[str, set[str]]] = {}
    for erasure_id, token, kind, value in rows:
        grouped.setdefault((erasure_id, token), {}).setdefault(kind, set()).add(value)
    return [
        Subject(token=token, customer_key=next(iter(kinds.get("customer_key", [])), None),
                source_ids=frozenset(kinds.get("source_id", set())), node_ids=frozenset(kinds.get("node_id", set())),
                email_hashes=frozenset(kinds.get("email_sha256", set())),
                phone_hashes=frozenset(kinds.get("phone_sha256", set())))
        for (_, token), kinds in grouped.items()
    ]


def _record(con: duckdb.DuckDBPyConnection, result: ErasureResult, subject: Subject, published: bool) -> None:
    tables = sorted(result.rows_by_table)
    con.execute("insert into audit.erasures values (?, ?, ?, ?, ?, ?, ?, ?)",
                [result.erasure_id, result.customer_key, result.requested, utcnow(), tables,
                 result.rows_changed, result.files_rewritten, published])
    kinds = [("customer_key", {subject.customer_key} if subject.customer_key else set()),
             ("source_id", subject.source_ids), ("node_id", subject.node_ids),
             ("email_sha256", subject.email_hashes), ("phone_sha256", subject.phone_hashes)]
    rows = [[result.erasure_id, subject.token, kind, value] for kind, values in kinds for value in sorted(values)]
    if rows:
        con.executemany("insert into audit.erasure_subjects values (?, ?, ?, ?)", rows)


# --------------------------------------------------------------------------- who


def _require_core(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    present = con.execute("select count(*) from duckdb_tables() where database_name = current_database() and "
                          "schema_name = 'core' and table_name in ('dim_customer', 'bridge_customer_source_id')"
                          ).fetchone()[0]
    if present < 2:
        raise CrmwhError(f"{path} has no core.dim_customer yet: run a night (`crmwh nightly --date ...`) first")


def _token_for(con: duckdb.DuckDBPyConnection, kind: str, value: str) -> str:
    """Erasing the same person again reuses their placeholder, so a re-run changes nothing."""
    row = con.execute("select token from audit.erasure_subjects where kind = ? and value = ? limit 1",
                      [kind, value]).fetchone()
    return row[0] if row else uuid.uuid4().hex[:12]


def _subject_for_customer(con: duckdb.DuckDBPyConnection, customer_key: str) -> Subject:
    row = con.execute("select is_unknown from core.dim_customer where customer_key = ?", [customer_key]).fetchone()
    if row is None:
        raise CrmwhError(f"no customer {customer_key!r} in core.dim_customer: pass a customer_key from "
                         "core.dim_customer (or bi.dim_customer), or --source-id <system>:<entity>:<id>")
    if row[0]:
        raise CrmwhError(f"{customer_key!r} is the unknown-customer member, not a person: nothing to erase")
    nodes = con.execute("select source_system, source_entity, source_id from core.bridge_customer_source_id "
                        "where customer_key = ?", [customer_key]).fetchall()
    return Subject(token=_token_for(con, "customer_key", customer_key), customer_key=customer_key,
                   source_ids=frozenset(n[2] for n in nodes), node_ids=frozenset(f"{s}:{e}:{i}" for s, e, i in nodes),
                   email_hashes=frozenset(), phone_hashes=frozenset())


def _subject_for_source(con: duckdb.DuckDBPyConnection, text: str) -> Subject:
    parts = text.split(":", 2)
    if len(parts) < 2 or not all(parts):
        raise CrmwhError(f"--source-id {text!r}: write <system>:<entity>:<id> (e.g. crm:contacts:CT-00000042) "
                         "or <system>:<id>")
    query = ("select source_system, source_entity, source_id, customer_key from core.bridge_customer_source_id "
             "where source_system = ? and source_id = ?")
    params = [parts[0], parts[-1]]
    if len(parts) == 3:
        query += " and source_entity = ?"
        params.append(parts[1])
    rows = con.execute(query, params).fetchall()
    if not rows:
        raise CrmwhError(f"no source record {text!r} in core.bridge_customer_source_id: "
                         "check the system, entity and id (see core.bridge_customer_source_id)")
    if len(rows) > 1:
        entities = ", ".join(sorted(f"{r[0]}:{r[1]}:{r[2]}" for r in rows))
        raise CrmwhError(f"--source-id {text!r} is ambiguous ({entities}): add the entity")
    system, entity, source_id, customer_key = rows[0]
    node = f"{system}:{entity}:{source_id}"
    return Subject(token=_token_for(con, "node_id", node), customer_key=None, source_ids=frozenset({source_id}),
                   node_ids=frozenset({node}), email_hashes=frozenset(), phone_hashes=frozenset(),
                   same_customer_key=customer_key)


# --------------------------------------------------------------------------- what


def _tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[tuple[str, str], list[str]]:
    return {key: columns for key, columns in text_columns(con, catalog).items() if key not in SKIPPED_TABLES}


def collect_from_database(con: duckdb.DuckDBPyConnection, subject: Subject) -> Found:
    found = Found()
    for (schema, table), columns in _tables(con).items():
        name = table_sql(schema, table)
        query = values_statement(name, columns, subject)
        if query:
            found.values |= {row[0].strip() for row in con.execute(query).fetchall() if row[0] and row[0].strip()}
        emails, phones = key_values(con, name, columns, subject)
        found.emails |= emails
        found.phones |= phones
    return found


def landed_files(landing_dir: Path) -> Iterator[Path]:
    """Every data file under the landing folder (source folders and ``_``-folders alike, not dot files)."""
    if not landing_dir.is_dir():
        return
    for path in sorted(landing_dir.rglob("*")):
        relative = path.relative_to(landing_dir).parts
        if path.is_file() and not any(part.startswith(".") for part in relative) and file_format(path):
            yield path


def expand_subject(con: duckdb.DuckDBPyConnection, subject: Subject, files: list[Path]) -> Subject:
    """Add the person's values, e-mails and phones; twice, so records found by e-mail/phone add theirs too."""
    for _ in range(2):
        found = collect_from_database(con, subject)
        for path in files:
            found.update(collect_file(path, subject))
        subject = subject.with_values(found.values).with_keys(found.emails, found.phones)
    return subject


# --------------------------------------------------------------------------- scrub


def scrub_database(con: duckdb.DuckDBPyConnection, subject: Subject, catalog: str | None = None) -> dict[str, int]:
    """Overwrite the person's data in every base table; ``schema.table -> rows changed`` (changed only)."""
    changed: dict[str, int] = {}
    for (schema, table), columns in _tables(con, catalog).items():
        rows = scrub_table(con, table_sql(schema, table, catalog), columns, subject)
        if rows:
            changed[f"{schema}.{table}"] = int(rows)
    return changed


@dataclass(frozen=True)
class FileRewrite:
    path: Path
    temporary: Path
    checksum: str
    size: int


def prepare_file_rewrites(files: list[Path], subject: Subject) -> list[FileRewrite]:
    rewrites = []
    for path in files:
        temporary = scrub_file(path, subject)
        if temporary is not None:
            checksum, size = file_checksum(temporary)
            rewrites.append(FileRewrite(path, temporary, checksum, size))
    return rewrites


def _load_id_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        """select c.schema_name, c.table_name, c.column_name from duckdb_columns() as c
           inner join duckdb_tables() as t
               on t.database_name = c.database_name and t.schema_name = c.schema_name and t.table_name = c.table_name
           where c.database_name = current_database() and not t.temporary and lower(c.column_name) in ?""",
        [list(LOAD_ID_COLUMNS)],
    ).fetchall()


def retarget_ledger(con: duckdb.DuckDBPyConnection, landing_dir: Path, rewrites: list[FileRewrite]) -> int:
    """Point each rewritten file's ledger row (and its rows' load ids) at the new content's load id."""
    moved = 0
    tables = None
    for rewrite in rewrites:
        relative = rewrite.path.relative_to(landing_dir)
        if len(relative.parts) < 3 or not is_source_folder(landing_dir / relative.parts[0]):
            continue
        new_id = make_load_id(relative.parts[0], entity_of(relative.name), rewrite.checksum)
        old_ids = [row[0] for row in con.execute(
            "select load_id from audit.load_ledger where landed_file = ? and load_id <> ?",
            [relative.as_posix(), new_id]).fetchall()]
        for old_id in old_ids:
            tables = tables if tables is not None else _load_id_tables(con)
            for schema, table, column in tables:
                con.execute(f"update {table_sql(schema, table)} set {quote_ident(column)} = ? "
                            f"where {quote_ident(column)} = ?", [new_id, old_id])
            con.execute("update audit.load_ledger set checksum = ?, file_bytes = ? where load_id = ?",
                        [rewrite.checksum, rewrite.size, new_id])
            moved += 1
    return moved


def _replace_files(rewrites: list[FileRewrite]) -> None:
    for rewrite in rewrites:
        os.replace(rewrite.temporary, rewrite.path)


def _discard(rewrites: list[FileRewrite]) -> None:
    for rewrite in rewrites:
        rewrite.temporary.unlink(missing_ok=True)


# --------------------------------------------------------------------------- publish


def _build_is_published(con: duckdb.DuckDBPyConnection) -> bool:
    """Is the build database the state that was last published (its latest night succeeded)?"""
    if not con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                       "and schema_name = 'audit' and table_name = 'nights'").fetchone()[0]:
        return False
    row = con.execute("select status, published from audit.nights "
                      "order by logical_date desc, started_at desc limit 1").fetchone()
    return bool(row and row[0] == "success" and row[1])


def scrub_published_copy(settings: Settings, subject: Subject, result: ErasureResult) -> Path:
    """Scrub a copy of the published file and swap it in (when the build holds an unpublished night)."""
    target = settings.warehouse_path
    temporary = target.with_name(f".{target.name}.erase.{os.getpid()}.tmp")
    shutil.copyfile(target, temporary)
    try:
        con = connect(temporary)
        try:
            scrub_database(con, subject)
            ensure_erasure_tables(con)
            _record(con, result, subject, published=True)
            con.execute("checkpoint")
        finally:
            con.close()
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


# --------------------------------------------------------------------------- entry points


def _open_build(settings: Settings) -> duckdb.DuckDBPyConnection:
    if not settings.build_db_path.is_file():
        raise CrmwhError(f"no build warehouse at {settings.build_db_path}: run a night first")
    try:
        return connect(settings.build_db_path)
    except duckdb.IOException as exc:
        raise CrmwhError(f"cannot open {settings.build_db_path} for writing ({str(exc).splitlines()[0]}): "
                         "is a night running? erase when it has finished") from None


def erase(settings: Settings, customer: str | None = None, source_id: str | None = None,
          progress: Progress | None = None) -> ErasureResult:
    """Erase one customer (``customer_key``) or one source record; see the module docstring."""
    if (customer is None) == (source_id is None):
        raise CrmwhError("give exactly one of --customer <customer_key> or --source-id <system>:<entity>:<id>")
    say = progress or (lambda message: None)
    con = _open_build(settings)
    rewrites: list[FileRewrite] = []
    try:
        ensure_erasure_tables(con)
        _require_core(con, settings.build_db_path)
        subject = _subject_for_customer(con, customer) if customer else _subject_for_source(con, source_id or "")
        requested = f"customer:{customer}" if customer else f"source:{sorted(subject.node_ids)[0]}"
        result = ErasureResult(uuid.uuid4().hex[:16], requested, subject.customer_key)
        files = list(landed_files(settings.landing_dir))
        say(f"erasing {requested}: {len(subject.node_ids)} source records; reading their personal data")
        subject = expand_subject(con, subject, files)
        say(f"rewriting landed files under {settings.landing_dir}")
        rewrites = prepare_file_rewrites(files, subject)
        result.files_rewritten = len(rewrites)
        publishable = _build_is_published(con)
        say(f"scrubbing every table of {settings.build_db_path}")
        con.execute("begin transaction")
        try:
            result.rows_by_table = scrub_database(con, subject)
            retarget_ledger(con, settings.landing_dir, rewrites)
            _record(con, result, subject, published=settings.warehouse_path.is_file())
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        _replace_files(rewrites)
        rewrites = []
    finally:
        _discard(rewrites)
        con.close()
    if settings.warehouse_path.is_file():
        if publishable:
            say("republishing the warehouse")
            result.published = publish(settings, tag="erase", compact=True)
        else:
            say("the build holds an unpublished night: scrubbing a copy of the published warehouse")
            result.published = scrub_published_copy(settings, subject, result)
    return result


def apply_erasure_list(con: duckdb.DuckDBPyConnection, landing_dir: Path, system: str, night: date) -> int:
    """Tombstone: rewrite a night's landed files of ``system`` for every erased person; files rewritten.

    Call it before the night's files are loaded. A file that was loaded already (a re-run)
    keeps its ledger row pointing at its content, like at erasure time.
    """
    subjects = load_tombstones(con)
    folder = landing_dir / system / night.isoformat()
    if not subjects or not folder.is_dir():
        return 0
    files = [path for path in sorted(folder.iterdir())
             if path.is_file() and not path.name.startswith(".") and file_format(path)]
    rewritten: set[Path] = set()
    for subject in subjects:
        found = Found()
        for path in files:
            found.update(collect_file(path, subject))
        subject = subject.with_values(found.values).with_keys(found.emails, found.phones)
        rewrites = prepare_file_rewrites(files, subject)
        try:
            con.execute("begin transaction")
            retarget_ledger(con, landing_dir, rewrites)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            _discard(rewrites)
            raise
        _replace_files(rewrites)
        rewritten |= {rewrite.path for rewrite in rewrites}
    return len(rewritten)
