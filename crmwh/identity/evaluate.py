"""Pairwise precision and recall of customer identity resolution against the simulator's truth.

The dbt models (``models/intermediate/identity``, ``core.bridge_customer_source_id``)
put every source id into one customer. The simulator knows the true party behind
each source id (``<landing>/_truth/identities.parquet``: system, entity, source_id ->
party_id). Scored over the source ids both know:

- a predicted pair: two source ids with the same customer_key (the unknown member
  does not count: unresolved touchpoints are placed with nobody);
- a true pair: two source ids with the same party_id;
- precision = correct predicted pairs / predicted pairs; recall = correct / true pairs.

Pairs are counted from group sizes (n choose 2), never enumerated, so scale m is cheap.

    python -m crmwh.identity.evaluate --home /tmp/idres      # CRMWH_HOME of a built warehouse
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from crmwh.errors import CrmwhError


@dataclass
class IdentityScore:
    """Pairwise figures of one resolution, plus what the links were made of."""

    source_ids: int
    customers: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    # the same figures over customer records only (no calls, web visitors, registrations)
    record_true_pairs: int = 0
    record_predicted_pairs: int = 0
    record_correct_pairs: int = 0
    links_by_reason: dict[str, int] = field(default_factory=dict)
    by_entity: list[tuple[str, str, int, int]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def record_precision(self) -> float:
        return self.record_correct_pairs / self.record_predicted_pairs if self.record_predicted_pairs else 1.0

    @property
    def record_recall(self) -> float:
        return self.record_correct_pairs / self.record_true_pairs if self.record_true_pairs else 1.0

    def report(self) -> str:
        lines = [
            f"source ids scored: {self.source_ids:,} (in truth and in the bridge), customers: {self.customers:,}",
            f"pairs: true {self.true_pairs:,}, predicted {self.predicted_pairs:,}, correct {self.correct_pairs:,}",
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}",
            f"customer records only (no touchpoints): precision {self.record_precision:.4f}  recall {self.record_recall:.4f}",
            "links by match_reason:",
            *(f"  {reason:<26} {count:>8,}" for reason, count in self.links_by_reason.items()),
            "source ids by entity (scored, resolved to a customer):",
            *(f"  {system}.{entity:<22} {n:>8,} {resolved:>8,}" for system, entity, n, resolved in self.by_entity),
        ]
        return "\n".join(lines)


def truth_path(landing_dir: Path) -> Path:
    path = landing_dir / "_truth" / "identities.parquet"
    if not path.exists():
        raise CrmwhError(f"no identity truth at {path}: generate the data with `crmwh generate` into {landing_dir}")
    return path


def score(con: duckdb.DuckDBPyConnection, truth: Path) -> IdentityScore:
    """Score ``core.bridge_customer_source_id`` in ``con`` against the truth parquet file."""
    try:
        con.execute("select 1 from core.bridge_customer_source_id limit 1").fetchall()
    except duckdb.Error as error:
        raise CrmwhError(f"core.bridge_customer_source_id is not built ({error}); run dbt build first") from error
    unknown = con.execute("select customer_key from core.dim_customer where is_unknown").fetchone()
    unknown_key = unknown[0] if unknown else None
    con.execute(
        """
        create or replace temp table identity_scored as
        select t.system, t.entity, t.source_id, t.party_id, b.record_role,
               case when b.customer_key is distinct from ? then b.customer_key end as customer_key
        from read_parquet(?) as t
        inner join core.bridge_customer_source_id as b
            on b.source_system = t.system and b.source_entity = t.entity and b.source_id = t.source_id
        """,
        [unknown_key, str(truth)],
    )

    def pairs(group_by: str, where: str = "true") -> int:
        row = con.execute(
            f"select coalesce(sum(n * (n - 1) / 2), 0) from "
            f"(select count(*) as n from identity_scored where {where} group by {group_by})").fetchone()
        return int(row[0]) if row else 0

    n_ids, n_customers = con.execute(
        "select count(*), count(distinct customer_key) from identity_scored").fetchone() or (0, 0)
    links = con.execute(
        "select match_reason, count(*) from staging.int_identity__links group by 1 order by 2 desc").fetchall()
    by_entity = con.execute(
        "select system, entity, count(*), count(customer_key) from identity_scored group by 1, 2 order by 1, 2").fetchall()
    return IdentityScore(
        source_ids=int(n_ids),
        customers=int(n_customers),
        true_pairs=pairs("party_id"),
        predicted_pairs=pairs("customer_key", "customer_key is not null"),
        correct_pairs=pairs("customer_key, party_id", "customer_key is not null"),
        record_true_pairs=pairs("party_id", "record_role = 'customer_record'"),
        record_predicted_pairs=pairs("customer_key", "customer_key is not null and record_role = 'customer_record'"),
        record_correct_pairs=pairs("customer_key, party_id", "customer_key is not null and record_role = 'customer_record'"),
        links_by_reason={str(reason): int(count) for reason, count in links},
        by_entity=[(str(s), str(e), int(n), int(r)) for s, e, n, r in by_entity],
    )


def score_database(db_path: Path, landing_dir: Path) -> IdentityScore:
    """Score the identity models built in the DuckDB file ``db_path``."""
    if not db_path.exists():
        raise CrmwhError(f"no warehouse at {db_path}: build it first (crmwh demo or dbt build)")
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return score(con, truth_path(landing_dir))
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="CRMWH_HOME of a built warehouse (default: settings)")
    parser.add_argument("--db", type=Path, help="DuckDB file to score (default: the build database of --home)")
    parser.add_argument("--landing", type=Path, help="landing folder holding _truth/ (default: that of --home)")
    args = parser.parse_args(argv)
    from crmwh.config import load_settings

    try:
        if args.home is not None:
            import os

            os.environ["CRMWH_HOME"] = str(args.home)
        settings = load_settings()
        db = args.db or settings.build_db_path
        landing = args.landing or settings.landing_dir
        print(score_database(db, landing).report())
    except CrmwhError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
