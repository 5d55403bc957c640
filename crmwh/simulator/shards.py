"""Shards: simulate a large population piece by piece so memory stays bounded.

Building the whole world of a million parties at once needs far more memory
than a laptop has (every record version of every entity lives in Arrow
tables until the nights are written). Above ``SHARD_SIZE`` parties the
population is therefore split into shards that are simulated, written and
freed one after the other. Each shard is an independent sub-world with its own
seed and its own parties, people, campaigns, orders, tickets... Only the
company itself is shared: staff, products and the reference tables built from
them (products, employees, territories, quotas) are drawn once from the run's
seed, so every shard's records point at the same employees and products.

Ids stay unique across shards: parties and people are numbered from an offset
(so truth ids and id-derived text such as web domains and VAT numbers do not
repeat), and every other record id a shard writes gets the shard's tag after
its prefix (``SO00001234`` in shard 3 becomes ``SO0300001234``). Tags start
with ``0``, so they never collide with the orphan references that
``generate`` injects (``C9…``, ``U9…``, ``SO9…``). Scales up to ``SHARD_SIZE``
are never sharded, so their output is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from crmwh.simulator.common import Clock, rng_for
from crmwh.simulator.population import Ctx, Products, Staff, build_parties, build_products, build_staff
from crmwh.simulator.sales import _build_reference

SHARD_SIZE = 100_000  # parties per shard; scale m (100k) and smaller are simulated in one piece
MAX_PERSONS_PER_PARTY = 6  # build_parties: 1 + min(poisson, 5); person numbers of a shard fit below this stride
REFERENCE_ENTITIES = ("products", "employees", "territories", "quotas")  # erp master data, written once
# id columns that point at shared master data (employees, products, territories): never tagged
SHARED_ID_COLUMNS = frozenset({"product_id", "employee_id", "owner_employee_id", "manager_id", "territory_id",
                               "changed_by", "assignee_id", "agent_id", "technician_id"})
EXTRA_ID_COLUMNS = frozenset({"material_code"})  # per-shard codes whose column name does not end in _id


@dataclass(frozen=True)
class Shard:
    """One slice of the population: which parties, how they are numbered and its seed."""

    index: int
    count: int
    n_parties: int
    party_offset: int
    person_offset: int
    seed: int

    @property
    def tag(self) -> str:
        """Digits put after every per-shard id's prefix; always starts with ``0``."""
        width = len(str(self.count - 1)) + 1
        return f"{self.index:0{width}d}"

    @property
    def part(self) -> str:
        """File name infix of this shard's files: ``orders.part-0003.csv`` (entity = name up to the first dot)."""
        return f".part-{self.index + 1:04d}"


def plan_shards(n_parties: int, shard_size: int, seed: int) -> list[Shard]:
    """Split ``n_parties`` into near-equal shards of at most ``shard_size`` parties."""
    count = max(1, -(-n_parties // shard_size))
    base, extra = divmod(n_parties, count)
    shards, party_offset = [], 0
    for index in range(count):
        n = base + (1 if index < extra else 0)
        shard_seed = int(rng_for(seed, "shard", index).integers(0, 2**32))
        shards.append(Shard(index, count, n, party_offset, party_offset * MAX_PERSONS_PER_PARTY, shard_seed))
        party_offset += n
    return shards


def build_shared(seed: int, n_parties: int, clock: Clock) -> tuple[Staff, Products]:
    """Staff sized for the whole population, and the product catalogue: one company for all shards."""
    return build_staff(seed, n_parties, clock), build_products(seed)


def reference_tables(seed: int, clock: Clock, staff: Staff, products: Products) -> dict[str, pa.Table]:
    """Products, employees, territories and quotas, drawn once from the run's seed."""
    ctx = Ctx(seed, clock, staff, products, parties=None, persons=None)  # type: ignore[arg-type]  # reference needs no parties
    return _build_reference(ctx)


def shard_ctx(shard: Shard, clock: Clock, staff: Staff, products: Products) -> Ctx:
    """The population of one shard, sharing staff and products."""
    parties, persons = build_parties(shard.seed, shard.n_parties, clock, staff, shard.party_offset, shard.person_offset)
    return Ctx(shard.seed, clock, staff, products, parties, persons, party_offset=shard.party_offset)


def is_shard_id_column(name: str) -> bool:
    return not name.startswith("_") and name not in SHARED_ID_COLUMNS and (name.endswith("_id") or name in EXTRA_ID_COLUMNS)


def tag_ids(table: pa.Table, tag: str) -> pa.Table:
    """Put the shard tag after the prefix of every per-shard id (``CT-00000012`` -> ``CT-0200000012``)."""
    for index, name in enumerate(table.column_names):
        if is_shard_id_column(name):
            tagged = pc.replace_substring_regex(table.column(name), pattern=r"^([A-Z]+-?)", replacement=r"\1" + tag,
                                                max_replacements=1)
            table = table.set_column(index, name, tagged)
    return table


__all__ = ["SHARD_SIZE", "REFERENCE_ENTITIES", "Shard", "plan_shards", "build_shared", "reference_tables", "shard_ctx",
           "tag_ids", "is_shard_id_column"]
