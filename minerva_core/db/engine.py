"""Which database Minerva talks to, and the SQLAlchemy engine for it."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from minerva_core.db import embedded
from minerva_core.settings import Settings


def database_url(settings: Settings, *, start_embedded: bool = True) -> str:
    """The SQLAlchemy URL: MINERVA_DATABASE_URL, else the embedded server (started on demand)."""
    if settings.database_url is not None:
        return normalise_url(settings.database_url.get_secret_value())
    if start_embedded:
        return embedded.start(settings.home)
    return embedded.url_for(embedded.pgdata_dir(settings.home))


def normalise_url(url: str) -> str:
    """Make any PostgreSQL URL use the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def get_engine(settings: Settings, *, pool_size: int = 5, **kwargs) -> Engine:
    return create_engine(
        database_url(settings),
        pool_size=pool_size,
        pool_pre_ping=True,
        future=True,
        **kwargs,
    )


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL in libpq form (for psycopg.connect, psql, COPY clients)."""
    parsed = make_url(sqlalchemy_url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)
