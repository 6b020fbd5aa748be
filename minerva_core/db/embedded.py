"""The embedded PostgreSQL (pgserver) that Minerva uses when MINERVA_DATABASE_URL is unset.

The server lives under MINERVA_HOME/pgdata, listens on a Unix socket in that directory only,
is started on demand and left running across runs (`minerva db stop` stops it).
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from pathlib import Path

from minerva_core.errors import EmbeddedDatabaseError

log = logging.getLogger(__name__)

DATABASE_NAME = "minerva"
# A Unix socket path must fit in 107 bytes.
_MAX_SOCKET_DIR = 90


def pgdata_dir(home: Path) -> Path:
    return home / "pgdata"


def _check_socket_path(pgdata: Path) -> None:
    if len(str(pgdata)) > _MAX_SOCKET_DIR:
        raise EmbeddedDatabaseError(
            f"embedded database directory {pgdata} is too long for a Unix socket path; "
            "set MINERVA_HOME to a shorter directory"
        )


def _server(pgdata: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver.get_server(pgdata, cleanup_mode=None)


def start(home: Path) -> str:
    """Start (or reuse) the embedded server and its `minerva` database; return its SQLAlchemy URL."""
    pgdata = pgdata_dir(home)
    _check_socket_path(pgdata)
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        server = _server(pgdata)
        exists = server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
        )
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
            log.info("created database %s in embedded server %s", DATABASE_NAME, pgdata)
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        log_file = pgdata / "log"
        raise EmbeddedDatabaseError(
            f"could not start the embedded PostgreSQL in {pgdata}: {exc.__class__.__name__}: {exc}"
            f" (server log: {log_file})"
        ) from exc
    return url_for(pgdata)


def url_for(pgdata: Path) -> str:
    return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={pgdata}"


def is_running(home: Path) -> bool:
    pid_file = pgdata_dir(home) / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def stop(home: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    pgdata = pgdata_dir(home)
    if not is_running(home):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver import pg_ctl
    user = None
    if os.geteuid() == 0:
        # As root the server runs as the `pgserver` user, which must be able to reach pgdata;
        # a parent directory may have been made private since the server started.
        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(pgdata)
        user = "pgserver"
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError as exc:
        raise EmbeddedDatabaseError(f"could not stop the embedded PostgreSQL in {pgdata}: {exc}") from exc
    return True
