"""Throwaway PostgreSQL databases for tests, on a real server.

The server is MINERVA_TEST_DATABASE_URL or MINERVA_DATABASE_URL when set, else the local
PostgreSQL on 127.0.0.1:5432. Each call creates a uniquely named database and drops it after.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("MINERVA_TEST_DATABASE_URL") or os.environ.get(
        "MINERVA_DATABASE_URL", DEFAULT_SERVER
    )


def _libpq(url: str, database: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


@contextmanager
def scratch_database(prefix: str = "minerva_test") -> Iterator[str]:
    """Create an empty database; yield its SQLAlchemy (psycopg) URL; drop it afterwards."""
    base = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _libpq(base, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
