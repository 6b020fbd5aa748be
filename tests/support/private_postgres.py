"""A private PostgreSQL cluster for a test that stops and starts the server itself (the
shared server on 5432 is never touched).

    with private_postgres() as pg:            # initdb into a temporary directory, started
        url = pg.create_database("minerva")   # SQLAlchemy (psycopg) URL
        pg.stop(mode="immediate")              # as if the server crashed
        pg.start()

Binaries: PostgreSQL 15 from /usr/lib/postgresql/15/bin (MINERVA_TEST_PG_BIN overrides).
PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres`
system user and every server command runs as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import psycopg

from tests.support.proxy_runner import free_port

PG_BIN = Path(os.environ.get("MINERVA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PrivatePostgres:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.log = root / "server.log"
        self._as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
            self._as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _run(self, *argv: str) -> None:
        result = subprocess.run([str(PG_BIN / argv[0]), *argv[1:]], capture_output=True, text=True,
                                cwd=self.root, timeout=120, **self._as_user)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}): {result.stderr}{result.stdout}\n{self.server_log()}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")

    def start(self) -> None:
        # fsync off is safe for a test whose "crash" is a killed server (the kernel keeps its
        # writes); synchronous_commit must stay on: off, a commit the client saw succeed can
        # be lost by `pg_ctl -m immediate`, and the ledger rightly trusts an acknowledged commit.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                   "-c fsync=off -c synchronous_commit=on -c full_page_writes=off -c max_connections=50")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``immediate``: no shutdown checkpoint, every connection cut (a crash, recovered at
        the next start); ``fast``: a clean stop."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="minerva-pg-"))
    server = PrivatePostgres(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            try:
                server.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(root, ignore_errors=True)


__all__ = ["PG_BIN", "PrivatePostgres", "private_postgres"]
