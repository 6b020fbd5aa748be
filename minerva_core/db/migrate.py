"""Plain-SQL migrations: sql/YYYYMMDDHHMMSS_name.sql, applied in order, one transaction each.

Each applied file is recorded in schema_migrations with its SHA-256. A recorded file whose
content has changed since is refused: migrations are history, a fix is a new file.
An advisory lock makes concurrent upgrades (two processes starting at once) wait, not race.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from minerva_core.errors import MigrationChecksumError, MigrationError

_NAME = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")
_LOCK_KEY = 7_231_442_901  # pg_advisory_xact_lock key reserved for migrations

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    checksum: str

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def default_sql_dir() -> Path:
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "sql", here.parents[1] / "_sql"):
        if candidate.is_dir():
            return candidate
    raise MigrationError("cannot find the sql/ migrations directory")


def discover(sql_dir: Path | None = None) -> list[Migration]:
    sql_dir = sql_dir or default_sql_dir()
    migrations = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"{path.name}: migration files must be named YYYYMMDDHHMMSS_snake_name.sql"
            )
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        migrations.append(Migration(match["version"], match["name"], path, checksum))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version timestamp")
    return migrations


def applied(conn: Connection) -> dict[str, str]:
    exists = conn.execute(text("SELECT to_regclass('schema_migrations') IS NOT NULL")).scalar()
    if not exists:
        return {}
    rows = conn.execute(text("SELECT version, checksum FROM schema_migrations"))
    return {version: checksum for version, checksum in rows}


def verify(migrations: list[Migration], recorded: dict[str, str]) -> None:
    by_version = {m.version: m for m in migrations}
    for version, checksum in sorted(recorded.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version} applied but no such file exists in sql/; "
                "is this checkout older than the database?"
            )
        if migration.checksum != checksum:
            raise MigrationChecksumError(
                f"{migration.path.name} was edited after it was applied "
                f"(recorded sha256 {checksum[:12]}…, file now {migration.checksum[:12]}…). "
                "Applied migrations are history: restore the file and put the change in a new migration."
            )


def pending(engine: Engine, sql_dir: Path | None = None) -> list[Migration]:
    migrations = discover(sql_dir)
    with engine.connect() as conn:
        recorded = applied(conn)
    verify(migrations, recorded)
    return [m for m in migrations if m.version not in recorded]


def upgrade(engine: Engine, sql_dir: Path | None = None) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; return those applied."""
    migrations = discover(sql_dir)
    done: list[Migration] = []
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        conn.execute(text(_BOOKKEEPING))
    while True:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            recorded = applied(conn)
            verify(migrations, recorded)
            todo = [m for m in migrations if m.version not in recorded]
            if not todo:
                return done
            migration = todo[0]
            _apply(conn, migration)
            done.append(migration)


def _apply(conn: Connection, migration: Migration) -> None:
    started = time.perf_counter()
    try:
        # The raw DBAPI cursor with no parameters: the file runs as written, '%' included.
        with conn.connection.cursor() as cursor:
            cursor.execute(migration.sql)
    except Exception as exc:  # the driver's error, re-raised as ours with the file named
        raise MigrationError(f"{migration.path.name} failed: {_first_line(exc)}") from exc
    conn.execute(
        text(
            "INSERT INTO schema_migrations (version, name, checksum, duration_ms) "
            "VALUES (:v, :n, :c, :d)"
        ),
        {
            "v": migration.version,
            "n": migration.name,
            "c": migration.checksum,
            "d": int((time.perf_counter() - started) * 1000),
        },
    )


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", exc)
    return str(orig).strip().splitlines()[0] if str(orig).strip() else orig.__class__.__name__
