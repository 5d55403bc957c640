"""A throwaway PostgreSQL server for tests: ``initdb`` in a temp folder, ``pg_ctl start`` on 127.0.0.1.

Why a real server: the SQL source kind streams ``COPY ... TO STDOUT`` and must survive a
dropped connection; only a real PostgreSQL shows both. The server uses trust auth, listens on
127.0.0.1 only (unix socket inside the temp folder), runs with ``fsync=off`` for speed and is
stopped and deleted at the end. When running as root the cluster belongs to the ``postgres``
OS user (PostgreSQL refuses to run as root).

Usable outside pytest::

    python tests/support/postgres_server.py      # prints a DSN, Ctrl-C stops and removes it

or in code::

    with PostgresServer() as server:
        dsn = server.dsn
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "install PostgreSQL server binaries: apt-get install -y postgresql"


class PostgresServerError(RuntimeError):
    """The test server could not be found, started or stopped."""


def find_bindir() -> Path:
    """The folder holding ``initdb``/``pg_ctl``: ``$PG_BINDIR``, ``pg_config --bindir``, then Debian's layout."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    # Debian installs server binaries off PATH; newest major version first.
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates.extend(Path(p) for p in debian)
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(Path(initdb_on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file() and (folder / "postgres").is_file():
            return folder
    raise PostgresServerError(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in a temp folder; ``start()`` returns the DSN, ``stop()`` removes everything."""

    def __init__(self, *, user: str = "postgres", bindir: Path | None = None) -> None:
        self.user = user
        self.bindir = bindir or find_bindir()
        self.root: Path | None = None
        self.port: int | None = None
        self._running = False

    # -- paths ---------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str) -> str:
        if not self._running:
            raise PostgresServerError("PostgreSQL test server is not running")
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname} connect_timeout=10"

    # -- running commands as the cluster owner --------------------------------
    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresServerError("running as root but 'runuser' is missing; run the tests as a normal user or install util-linux")
        return [runuser, "-u", "postgres", "--", *argv]

    def _run(self, argv: list[str], what: str) -> None:
        result = subprocess.run(self._as_owner(argv), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.root and self.log_file.exists() else ""
            raise PostgresServerError(f"{what} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}\n{log}")

    # -- life cycle ------------------------------------------------------------
    def start(self) -> str:
        """Create and start the cluster; returns the DSN of the ``postgres`` database."""
        if self._running:
            return self.dsn
        self.root = Path(tempfile.mkdtemp(prefix="crmwh-pg-"))
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self._run(
            [str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", self.user, "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            "initdb",
        )
        last_error: Exception | None = None
        for _ in range(3):  # the free port can be taken between probing and binding
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                     "-o", options, "-w", "-t", "60", "start"],
                    "pg_ctl start",
                )
            except PostgresServerError as error:
                last_error = error
                continue
            self._running = True
            return self.dsn
        self._cleanup()
        raise PostgresServerError(f"could not start PostgreSQL test server: {last_error}")

    def stop(self) -> None:
        """Stop the server (fast mode) and delete its folder."""
        if self.root is None:
            return
        try:
            if self._running:
                self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], "pg_ctl stop")
        finally:
            self._running = False
            self._cleanup()

    def restart(self) -> None:
        """Restart on the same port (tests use it to drop every connection)."""
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-m", "fast", "-w", "restart"], "pg_ctl restart")

    def create_database(self, name: str) -> str:
        """Create a database and return its DSN (names are quoted)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return self.dsn_for(name)

    def _cleanup(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    with PostgresServer() as server:
        print(server.dsn, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
