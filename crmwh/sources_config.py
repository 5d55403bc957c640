"""Which source systems are pulled from a database or an API (rather than dropped as files).

Declared in ``crmwh.toml`` (``$CRMWH_CONFIG``, default ``$CRMWH_HOME/crmwh.toml``)::

    [sources.erp]                    # the system name: lands in landing/erp/<night>/
    kind = "postgres"
    dsn_env = "CRMWH_ERP_DSN"        # environment variable holding the DSN; never a DSN in the file
    entities = { orders = "public.orders", customers = "public.customers" }

    [sources.helpdesk]
    kind = "http"
    base_url_env = "CRMWH_HELPDESK_API"
    entities = ["tickets", "ticket_events"]

Credentials come only from the environment (an Airflow connection exported as
``AIRFLOW_CONN_<ID>`` is an environment variable too).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from crmwh.config import Settings
from crmwh.errors import CrmwhError


@dataclass(frozen=True)
class SourceConfig:
    system: str
    kind: str  # postgres or http
    address_env: str
    entities: dict[str, str]  # entity -> table (postgres) or entity -> entity (http)

    def address(self) -> str:
        value = os.environ.get(self.address_env)
        if not value:
            raise CrmwhError(f"source {self.system}: environment variable {self.address_env} is not set "
                             f"(it must hold the {'DSN' if self.kind == 'postgres' else 'API base URL'})")
        return value


def config_path(settings: Settings) -> Path:
    return Path(os.environ.get("CRMWH_CONFIG", settings.home / "crmwh.toml"))


# System and entity names become folder names (landing/<system>/...), file names and table names
# (raw.<system>__<entity>): letters, digits, _ and - only, so none can climb out of the landing folder.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def _check_name(path: Path, what: str, name: object) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise CrmwhError(f"{path}: {what} {name!r} is not allowed: use letters, digits, '_' and '-' "
                         f"(it becomes a folder and table name)")


def load_source_configs(settings: Settings) -> dict[str, SourceConfig]:
    path = config_path(settings)
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CrmwhError(f"{path}: not valid TOML ({exc})") from None
    configs: dict[str, SourceConfig] = {}
    for system, spec in data.get("sources", {}).items():
        _check_name(path, "source name", system)
        kind = spec.get("kind")
        if kind not in ("postgres", "http"):
            raise CrmwhError(f"{path}: [sources.{system}] kind must be 'postgres' or 'http', not {kind!r}")
        env_key = "dsn_env" if kind == "postgres" else "base_url_env"
        if env_key not in spec:
            raise CrmwhError(f"{path}: [sources.{system}] needs {env_key} (the environment variable to read)")
        entities = spec.get("entities", {})
        if isinstance(entities, list):
            entities = {name: name for name in entities}
        for entity in entities:
            _check_name(path, f"[sources.{system}] entity name", entity)
        configs[system] = SourceConfig(system, kind, spec[env_key], dict(entities))
    return configs
