"""Where crmwh keeps its files, from environment variables and an optional config file.

Precedence, highest first: environment variable, ``crmwh.toml`` (path in
``CRMWH_CONFIG``, default ``$CRMWH_HOME/crmwh.toml``), built-in default.

| setting        | env var              | toml key        | default                          |
|----------------|----------------------|-----------------|----------------------------------|
| home           | CRMWH_HOME           | –               | ./crmwh_home                     |
| landing_dir    | CRMWH_LANDING_DIR    | landing_dir     | $CRMWH_HOME/landing              |
| warehouse_path | CRMWH_WAREHOUSE      | warehouse_path  | $CRMWH_HOME/warehouse/crm.duckdb |
| work_dir       | CRMWH_WORK_DIR       | work_dir        | $CRMWH_HOME/work                 |
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from crmwh.errors import CrmwhError


@dataclass(frozen=True)
class Settings:
    home: Path
    landing_dir: Path
    warehouse_path: Path
    work_dir: Path

    @property
    def build_db_path(self) -> Path:
        """The read-write DuckDB file the nightly run builds in (never read by BI tools).

        It has the published file's name: DuckDB names a file's catalog after it, and
        views copied into the published file must find the same catalog there.
        """
        return self.work_dir / self.warehouse_path.name

    @property
    def airflow_home(self) -> Path:
        return self.work_dir / "airflow"

    @property
    def dbt_target_dir(self) -> Path:
        return self.work_dir / "dbt_target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.work_dir / "dbt_logs"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def ensure_dirs(self) -> None:
        for path in (self.landing_dir, self.warehouse_path.parent, self.work_dir):
            path.mkdir(parents=True, exist_ok=True)


def _read_config_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CrmwhError(f"{path}: not valid TOML ({exc}); fix or remove the file") from None
    section = data.get("crmwh", data)
    return {key: str(value) for key, value in section.items() if isinstance(value, (str, int, float))}


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("CRMWH_HOME", "crmwh_home")).expanduser().resolve()
    config_path = Path(env.get("CRMWH_CONFIG", home / "crmwh.toml")).expanduser()
    file_values = _read_config_file(config_path)

    def pick(env_name: str, key: str, default: Path) -> Path:
        raw = env.get(env_name) or file_values.get(key)
        return Path(raw).expanduser().resolve() if raw else default

    return Settings(
        home=home,
        landing_dir=pick("CRMWH_LANDING_DIR", "landing_dir", home / "landing"),
        warehouse_path=pick("CRMWH_WAREHOUSE", "warehouse_path", home / "warehouse" / "crm.duckdb"),
        work_dir=pick("CRMWH_WORK_DIR", "work_dir", home / "work"),
    )
