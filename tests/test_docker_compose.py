"""docker-compose.yml, checked without a Docker engine: parse it and hold every service,
image tag, mount and variable against the project and Airflow's documented Airflow 3 layout."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"

# Airflow's documented docker-compose.yaml for Airflow 3, without the Celery parts
# (airflow-worker, redis, flower) that LocalExecutor does not need.
AIRFLOW_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
BI_SERVICES = {"superset", "superset-init"}
EXPECTED_SERVICES = {"postgres", "airflow-init", *AIRFLOW_COMMANDS, *BI_SERVICES}
PUBLISHED_DIR = "/opt/crmwh/warehouse"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
REQUIRED_VARIABLE = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def pinned(name: str) -> str:
    for requirement in pyproject()["project"]["dependencies"]:
        match = re.fullmatch(rf"{re.escape(name)}(\[[^\]]+\])?==(?P<version>[\w.]+)", requirement)
        if match:
            return match["version"]
    raise AssertionError(f"{name} is not pinned in pyproject.toml")


def dockerfile_base(path: Path) -> str:
    (line,) = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("FROM ")]
    return line.split()[1]


def mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of every short-syntax volume entry."""
    out = []
    for entry in service.get("volumes") or []:
        assert isinstance(entry, str), f"use the short volume syntax: {entry}"
        parts = entry.split(":")
        out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def test_services_are_the_documented_airflow_3_set_plus_postgres_and_bi(services: dict[str, Any]) -> None:
    assert set(services) == EXPECTED_SERVICES
    assert not {"airflow-webserver", "airflow-worker", "redis", "flower"} & set(services), \
        "Airflow 3 has no webserver; LocalExecutor needs no Celery worker"
    for name, command in AIRFLOW_COMMANDS.items():
        assert services[name]["command"] == command
        assert services[name]["restart"] == "always"
        assert "healthcheck" in services[name], name
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
    assert services["airflow-apiserver"]["healthcheck"]["test"][-1] == "http://localhost:8080/api/v2/version"
    assert services["airflow-scheduler"]["healthcheck"]["test"][-1] == "http://localhost:8974/health"
    assert "DagProcessorJob" in services["airflow-dag-processor"]["healthcheck"]["test"][-1]
    assert "TriggererJob" in services["airflow-triggerer"]["healthcheck"]["test"][-1]
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    # The DAG's tasks run in a one-slot pool (one writer of the DuckDB build file): init creates it.
    assert 'airflow pools set "$${CRMWH_AIRFLOW_POOL:-crmwh_warehouse}" 1' in services["airflow-init"]["command"][-1]


def test_airflow_runs_local_executor_on_postgres(services: dict[str, Any]) -> None:
    for name in (*AIRFLOW_COMMANDS, "airflow-init"):
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "airflow"
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]


def test_every_image_is_pinned_and_matches_the_project(services: dict[str, Any]) -> None:
    version = pyproject()["project"]["version"]
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: pin the image tag ({image})"
        if "build" in service:
            assert tag == version, f"{name}: the project's own image is tagged with the project version"
            build = service["build"]
            context = REPO / build["context"]
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
    assert services["postgres"]["image"] == "postgres:16"
    airflow_base = dockerfile_base(REPO / "docker" / "Dockerfile")
    assert airflow_base.startswith(f"apache/airflow:{pinned('apache-airflow')}"), airflow_base
    assert f'"apache-airflow=={pinned("apache-airflow")}"' in (REPO / "docker" / "Dockerfile").read_text()
    assert dockerfile_base(REPO / "docker" / "superset" / "Dockerfile") == "apache/superset:6.1.0"


def test_every_mount_source_exists_or_is_a_named_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    named = set(compose["volumes"])
    used = set()
    for name, service in services.items():
        for source, target, _ in mounts(service):
            assert target.startswith("/"), f"{name}: {target}"
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name}: mount source {source} is not in the repository"
            else:
                assert source in named, f"{name}: named volume {source} is not declared"
                used.add(source)
    assert used == named, f"declared but unused volumes: {named - used}"


def test_airflow_mounts_the_project_and_the_crmwh_volumes(services: dict[str, Any]) -> None:
    for name in (*AIRFLOW_COMMANDS, "airflow-init"):
        by_source = {source: target for source, target, _ in mounts(services[name])}
        assert by_source["./dags"] == "/opt/airflow/dags"
        # the editable install in docker/Dockerfile resolves these through crmwh.resources
        assert by_source["./dbt_project"] == "/opt/crmwh/src/dbt_project"
        assert by_source["./expectations"] == "/opt/crmwh/src/expectations"
        env = services[name]["environment"]
        assert by_source["crmwh-home"] == env["CRMWH_HOME"]
        assert by_source["crmwh-warehouse"] == str(Path(env["CRMWH_WAREHOUSE"]).parent) == PUBLISHED_DIR
        assert env["CRMWH_LANDING_DIR"].startswith(env["CRMWH_HOME"] + "/")
        assert env["CRMWH_WORK_DIR"].startswith(env["CRMWH_HOME"] + "/")
    assert "/opt/crmwh/src" in (REPO / "docker" / "Dockerfile").read_text()


def test_crmwh_variables_are_ones_the_project_reads(services: dict[str, Any]) -> None:
    config = (REPO / "crmwh" / "config.py").read_text(encoding="utf-8")
    for name in ("CRMWH_HOME", "CRMWH_WAREHOUSE", "CRMWH_LANDING_DIR", "CRMWH_WORK_DIR"):
        assert f'"{name}"' in config
    sources = "\n".join(path.read_text(encoding="utf-8")
                        for folder in ("crmwh", "dags", "ingestion") for path in (REPO / folder).rglob("*.py"))
    used = {name for service in services.values() for name in (service.get("environment") or {})
            if name.startswith("CRMWH_")}
    assert {"CRMWH_HOME", "CRMWH_WAREHOUSE"} <= used
    for name in used:
        assert f'"{name}"' in sources, f"{name} is set in docker-compose.yml but nothing in the project reads it"
    example = (REPO / "docker" / "env.example").read_text(encoding="utf-8")
    for name in re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text(encoding="utf-8")):
        assert re.search(rf"^{name}=", example, re.M), f"{name} is not documented in docker/env.example"


def test_no_secret_is_committed(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) and not key.endswith("AUTH_MANAGER"):
                assert REQUIRED_VARIABLE.match(str(value)), f"{name}: {key} must come from ${{{key}:?...}}"
            if key.endswith("SQL_ALCHEMY_CONN"):
                assert re.search(r":\$\{POSTGRES_PASSWORD:\?[^}]+\}@", value), f"{name}: password in {key}"
    example = (REPO / "docker" / "env.example").read_text(encoding="utf-8")
    for line in example.splitlines():
        key, _, value = line.partition("=")
        if line and not line.startswith("#") and SECRET_NAME.search(key):
            assert value == "", f"docker/env.example must not carry a value for {key}"
    assert not (REPO / ".env").exists() or ".env" in (REPO / ".gitignore").read_text().split()


def test_bi_reads_only_the_published_warehouse_read_only(services: dict[str, Any]) -> None:
    for name in BI_SERVICES:
        for source, target, read_only in mounts(services[name]):
            if source != "superset-home":
                assert read_only, f"{name}: {source} must be mounted read-only"
        assert ("crmwh-warehouse", PUBLISHED_DIR, True) in mounts(services[name])
        assert "crmwh-home" not in {source for source, _, _ in mounts(services[name])}, \
            "the BI tool must not see the build database"
    init = "\n".join(services["superset-init"]["command"])
    assert f"duckdb:///{PUBLISHED_DIR}/crm.duckdb?access_mode=read_only" in init
    config = (REPO / "docker" / "superset" / "superset_config.py").read_text(encoding="utf-8")
    assert 'os.environ["SUPERSET_SECRET_KEY"]' in config
    assert "duckdb==1.5.5" in (REPO / "docker" / "superset" / "Dockerfile").read_text()
