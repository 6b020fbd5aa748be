"""Fixtures of the proxy app's tests: settings from a literal mapping, an app on a real
database, and a catalog loaded by one real discover run.

Stateful tests use databases of their own (``scratch_database``), not the session's
``db_url``: the suite shares that one with other areas, and the model browser's expected
counts must not depend on what another test wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

from minerva_core.db import migrate
from minerva_core.settings import Settings, load_settings
from proxy.app import create_app
from proxy.jobs import FlowLauncher, FlowRequest, OnFailure
from tests.conftest import OPENROUTER_FIXTURES
from tests.support.database import scratch_database

ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
API = "/api/platform/ai-management/openrouter"
SNAPSHOT = OPENROUTER_FIXTURES / "models-all-modalities-2026-08-19.json"


class RecordingLauncher:
    """A FlowLauncher that starts nothing: it records what it was asked, or refuses."""

    name = "recording"

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.requests: list[FlowRequest] = []
        self.on_failure: list[OnFailure] = []
        self.fail_with = fail_with

    async def launch(self, request: FlowRequest, on_failure: OnFailure) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.requests.append(request)
        self.on_failure.append(on_failure)


@contextmanager
def migrated_database(prefix: str) -> Iterator[tuple[str, Engine]]:
    with scratch_database(prefix) as url:
        engine = create_engine(url, pool_size=5, pool_pre_ping=True)
        try:
            migrate.upgrade(engine)
            yield url, engine
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def secret_keys() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def proxy_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy_home")


@pytest.fixture(scope="session")
def make_settings(secret_keys: str, proxy_home: Path) -> Callable[..., Settings]:
    """Settings from a literal mapping (the process environment is not read)."""

    def make(database_url: str, **extra: str) -> Settings:
        environ = {
            "MINERVA_DATABASE_URL": database_url,
            "MINERVA_ADMIN_TOKEN": ADMIN_TOKEN,
            "MINERVA_SECRET_KEYS": secret_keys,
            "MINERVA_HOME": str(proxy_home),
            "MINERVA_ENV": "test",
            **extra,
        }
        return load_settings(environ)

    return make


@pytest.fixture(scope="session")
def make_client(make_settings) -> Callable[..., TestClient]:
    """An app (lifespan run) on the given database: ``with make_client(url, engine) as client``."""

    @contextmanager
    def make(url: str, engine: Engine | None = None, *, launcher: FlowLauncher | None = None,
             raise_server_exceptions: bool = True, **extra: str) -> Iterator[TestClient]:
        app = create_app(make_settings(url, **extra), engine=engine, launcher=launcher)
        with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
            yield client

    return make


@pytest.fixture(scope="module")
def module_db() -> Iterator[tuple[str, Engine]]:
    """A migrated database for one test module."""
    with migrated_database("minerva_proxy") as db:
        yield db


@pytest.fixture(scope="module")
def catalog_db(prefect_harness) -> Iterator[tuple[str, Engine]]:
    """A database holding the catalog of SNAPSHOT, loaded by one real discover flow run
    (in process, under the session's Prefect harness) against a real emulator."""
    from flows import _runtime
    from flows.discover import discover
    from tests.support.emulator import running_emulator

    with migrated_database("minerva_proxy_catalog") as (url, engine):
        with pytest.MonkeyPatch.context() as mp, running_emulator(snapshot=str(SNAPSHOT)) as base_url:
            mp.setenv("MINERVA_DATABASE_URL", url)
            mp.setenv("OPENROUTER_BASE_URL", base_url)
            mp.delenv("OPENROUTER_API_KEY", raising=False)
            result = discover(endpoints=False)
        assert result["status"] == "succeeded", result
        try:
            yield url, engine
        finally:
            _runtime.engine_for.cache_clear()
