"""Source contracts: what each source system delivers (entities, columns, types, keys).

One YAML file per system in this folder is the single source of truth used by
the simulator, the loader (required columns, renamed columns), the dbt staging
layer and the README's bring-your-own-data tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

CONTRACTS_DIR = Path(__file__).resolve().parent
ANY_SYSTEM = "*"
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    description: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entity:
    system: str
    name: str
    description: str
    format: str
    primary_key: str
    updated_at: str | None
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.required]

    def missing_required(self, delivered: list[str]) -> list[str]:
        """Required columns none of the delivered names (or their aliases) stand for."""
        names = {self.canonical_name(name) for name in delivered}
        return [name for name in self.required_columns if name not in names]

    def canonical_name(self, delivered: str) -> str:
        """Map a delivered column name (possibly renamed by schema drift) to ours."""
        for column in self.columns:
            if delivered == column.name or delivered in column.aliases:
                return column.name
        return delivered


@dataclass(frozen=True)
class System:
    name: str
    description: str
    format: str
    entities: dict[str, Entity]


def _parse(path: Path) -> System:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    system_name = data["system"]
    entities: dict[str, Entity] = {}
    for entity_name, spec in data["entities"].items():
        columns = tuple(
            Column(
                name=col["name"],
                type=str(col["type"]),
                required=bool(col.get("required", False)),
                description=str(col.get("description", "")),
                aliases=tuple(col.get("aliases", ())),
            )
            for col in spec["columns"]
        )
        entities[entity_name] = Entity(
            system=system_name,
            name=entity_name,
            description=spec.get("description", ""),
            format=spec.get("format", data.get("format", "csv")),
            primary_key=spec["primary_key"],
            updated_at=spec.get("updated_at"),
            columns=columns,
        )
    return System(system_name, data.get("description", ""), data.get("format", "csv"), entities)


@lru_cache(maxsize=1)
def all_systems() -> dict[str, System]:
    systems = [_parse(path) for path in sorted(CONTRACTS_DIR.glob("*.yml"))]
    return {system.name: system for system in systems}


def known_systems() -> list[str]:
    return [name for name in all_systems() if name != ANY_SYSTEM]


def entity_contract(system: str, entity: str) -> Entity | None:
    """The contract for ``system``/``entity``; systems we do not know get the bring-your-own ones."""
    systems = all_systems()
    if system in systems:
        return systems[system].entities.get(entity)
    return systems[ANY_SYSTEM].entities.get(entity)
