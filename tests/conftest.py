"""Shared pytest fixtures. Each helper keeps its fixtures in its own marked section."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# ---------------------------------------------------------------------------
# PostgreSQL test server (tests/support/postgres_server.py): one per test session.
# Missing binaries fail the tests with the install command; they are never skipped.
# ---------------------------------------------------------------------------
try:  # tests/ is on sys.path when it has no __init__.py (pytest's default import mode)
    from support.postgres_server import PostgresServer, PostgresServerError
except ImportError:  # tests/ became a package
    from tests.support.postgres_server import PostgresServer, PostgresServerError


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
        server.start()
    except PostgresServerError as error:
        pytest.fail(f"PostgreSQL test server unavailable: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """DSN of the session's throwaway server (database ``postgres``, trust auth, 127.0.0.1)."""
    return postgres_server.dsn


# --- end PostgreSQL section ---
