"""Fixtures of the hostile-input tests: one migrated scratch database holding the real
catalog, one emulator subprocess as the upstream, and one proxy app (``create_app``, the
whole API) served by real uvicorn over loopback, shared by the modules of this package.
The secrets test starts a proxy process of its own (its logs are what it scans)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine

from minerva_core import views
from minerva_core.db import migrate
from minerva_core.settings import load_settings
from proxy.app import create_app
from proxy.jobs import FlowRequest, OnFailure
from tests.gateway import support
from tests.support.database import scratch_database
from tests.support.emulator import running_emulator

ADMIN = support.ADMIN
ADMIN_TOKEN = "hostile-admin-" + uuid.uuid4().hex


class NoFlows:
    """A FlowLauncher that starts nothing (models/sync must not spawn flow processes here)."""

    name = "recording"

    def __init__(self) -> None:
        self.requests: list[FlowRequest] = []

    async def launch(self, request: FlowRequest, on_failure: OnFailure) -> None:
        self.requests.append(request)


@dataclass(frozen=True)
class Proxy:
    url: str
    app: object
    engine: Engine
    upstream: str


@contextmanager
def catalog_database(prefix: str) -> Iterator[tuple[str, Engine]]:
    """A migrated scratch database holding the real catalog (and the test-chain strategy)."""
    with scratch_database(prefix) as url:
        engine = create_engine(url, pool_size=5, pool_pre_ping=True)
        try:
            migrate.upgrade(engine)
            support.load_catalog(engine)
            yield url, engine
        finally:
            engine.dispose()


def refresh_views(engine: Engine) -> None:
    """Refresh every mv_* view (as the refresh flow does) and record it."""
    started = datetime.now(UTC)
    with engine.connect() as conn:
        names = views.materialized_views(conn)
    outcomes = [views.refresh_view(engine, name, populated) for name, populated in names]
    assert not [o for o in outcomes if o.error], outcomes
    with engine.begin() as conn:
        views.record_refreshes(conn, outcomes, started, None)


@contextmanager
def serving_proxy(db: tuple[str, Engine], upstream: str, home: Path, **env: str) -> Iterator[Proxy]:
    """create_app on ``db`` with ``upstream`` as OpenRouter, served by uvicorn on loopback."""
    url, engine = db
    settings = load_settings(environ={**env,
        "MINERVA_DATABASE_URL": url, "OPENROUTER_BASE_URL": upstream,
        "OPENROUTER_API_KEY": "sk-or-hostile-" + uuid.uuid4().hex,
        "MINERVA_ADMIN_TOKEN": ADMIN_TOKEN, "MINERVA_SECRET_KEYS": Fernet.generate_key().decode(),
        "MINERVA_HOME": str(home), "MINERVA_ENV": "test",
    })
    app = create_app(settings, engine=engine, launcher=NoFlows())
    with support.serve(app) as base:
        support.wait_for(lambda: app.state.gateway.snapshot is not None, 30)
        yield Proxy(base, app, engine, upstream)


@pytest.fixture(scope="session")
def hostile_upstream() -> Iterator[str]:
    with running_emulator(seed=11) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def proxy(hostile_upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """The proxy shared by the modules that do not change its configuration: every area on,
    the rollups refreshed, so the code behind each path is what answers."""
    with catalog_database("minerva_hostile") as db:
        refresh_views(db[1])
        with serving_proxy(db, hostile_upstream, tmp_path_factory.mktemp("hostile_home"),
                           ENABLE_OPENROUTER_MIGRATION="true") as served:
            yield served


def new_key(proxy: Proxy, name: str, **options: object) -> tuple[str, str]:
    """(plaintext key, id) of a new key the running proxy already knows."""
    key, key_id = support.new_key(proxy.engine, name, **options)
    support.await_key(proxy.app, key)
    return key, key_id


@pytest.fixture(scope="session")
def virtual_key(proxy: Proxy) -> str:
    return new_key(proxy, "hostile-main")[0]


@pytest.fixture(scope="session")
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="session")
def key_headers(virtual_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {virtual_key}"}

