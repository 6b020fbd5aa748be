"""Session-wide fixtures: an isolated MINERVA_HOME and one migrated database on real PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from minerva_core.db import migrate
from tests.support.database import scratch_database

FIXTURES = Path(__file__).parent / "fixtures"
OPENROUTER_FIXTURES = FIXTURES / "openrouter"


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Never touch the developer's ~/.minerva from a test."""
    home = tmp_path_factory.mktemp("minerva_home")
    previous = os.environ.get("MINERVA_HOME")
    os.environ["MINERVA_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("MINERVA_HOME", None)
    else:
        os.environ["MINERVA_HOME"] = previous


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh, fully migrated database for this test session."""
    with scratch_database("minerva_test") as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        yield url


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url, pool_size=5, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture()
def empty_db_url() -> Iterator[str]:
    """A brand-new empty database, for tests of migrations themselves."""
    with scratch_database("minerva_empty") as url:
        yield url


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness (a temporary local API and database) for the whole session."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def flow_env(db_url: str, monkeypatch: pytest.MonkeyPatch):
    """Point flows (which read settings from the environment) at the test database."""
    monkeypatch.setenv("MINERVA_DATABASE_URL", db_url)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    return monkeypatch
