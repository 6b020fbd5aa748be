"""One migrated database for the reconciliation tests (their ledgers must hold exactly what
each test puts there), emptied of ledger, bills, runs and keys before every test."""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from minerva_core.db import migrate
from tests.support.database import scratch_database

_TABLES = (
    "reconciliation_items", "reconciliation_run_imports", "reconciliation_runs", "bill_lines",
    "bill_imports", "usage_ledger", "ai_model_prices",
)


@pytest.fixture(scope="package")
def recon_url() -> Iterator[str]:
    with scratch_database("minerva_recon") as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        yield url


@pytest.fixture(scope="package")
def recon_engine(recon_url: str) -> Iterator[Engine]:
    engine = create_engine(recon_url, pool_size=3, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture()
def engine(recon_engine: Engine) -> Engine:
    """The package database, with every table these tests write to emptied first."""
    with recon_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(_TABLES)} CASCADE"))
    return recon_engine


@pytest.fixture()
def recon_env(recon_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Point flows and the CLI (which read the environment) at the package database."""
    monkeypatch.setenv("MINERVA_DATABASE_URL", recon_url)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    yield monkeypatch
    from flows import _runtime

    try:
        _runtime.engine().dispose()  # the flows' cached engine for this database
    finally:
        _runtime.engine_for.cache_clear()
