"""Fixtures of the analytics tests: per test module, a scratch database (migrated, seeded
with known ledger rows, keys and reconciliation runs, views refreshed) and create_app's app
with the analytics router under the admin prefix (mounted here, with the admin dependency,
when the app does not mount it itself)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from cryptography.fernet import Fernet
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from minerva_core import views as mv
from minerva_core.db import migrate
from minerva_core.settings import load_settings
from proxy.app import create_app
from proxy.deps import require_admin
from proxy.routes.analytics import router
from proxy.schemas.analytics import CostResponse, PerformanceResponse, UsageResponse
from tests.analytics import ledger_data
from tests.support.database import scratch_database

ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
API = "/api/platform/ai-management/openrouter"


def refresh_all(engine: Engine) -> list[mv.RefreshOutcome]:
    """What the refresh flow does: the days the hourly window has left frozen, then every
    mv_* view, concurrently once populated."""
    with engine.begin() as conn:
        mv.freeze_closed_days(conn)
    with engine.connect() as conn:
        listed = mv.materialized_views(conn)
    outcomes = [mv.refresh_view(engine, name, populated) for name, populated in listed]
    failed = [o for o in outcomes if o.error]
    assert not failed, failed
    return outcomes


@dataclass
class Seeded:
    url: str
    engine: Engine
    now: datetime
    keys: ledger_data.Keys
    rows: list[dict]
    runs: list[ledger_data.Run]


def seed(url: str, engine: Engine) -> Seeded:
    with engine.begin() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one().astimezone(timezone.utc)
        keys = ledger_data.make_keys(conn)
        rows = ledger_data.make_rows(now, keys)
        ledger_data.insert_rows(conn, rows)
        runs = ledger_data.make_runs(now.date())
        ledger_data.insert_runs(conn, runs)
    return Seeded(url, engine, now, keys, rows, runs)


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    """A migrated scratch database for this module, seeded, every view refreshed twice
    (plainly, then concurrently)."""
    with scratch_database("minerva_analytics") as url:
        engine = create_engine(url, pool_size=5, pool_pre_ping=True)
        try:
            migrate.upgrade(engine)
            data = seed(url, engine)
            refresh_all(engine)
            refresh_all(engine)
            yield data
        finally:
            engine.dispose()


def make_app(url: str, engine: Engine, home):
    settings = load_settings({
        "MINERVA_DATABASE_URL": url, "MINERVA_ADMIN_TOKEN": ADMIN_TOKEN, "MINERVA_HOME": str(home),
        "MINERVA_SECRET_KEYS": Fernet.generate_key().decode(), "MINERVA_ENV": "test",
    })
    app = create_app(settings, engine=engine)
    if not any(getattr(route, "path", "") == f"{API}/analytics/usage" for route in app.routes):
        app.include_router(router, prefix=API, dependencies=[Depends(require_admin)])  # not mounted by the app yet
    return app


@pytest.fixture(scope="module")
def client(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = make_app(seeded.url, seeded.engine, tmp_path_factory.mktemp("analytics_home"))
    with TestClient(app) as test_client:
        yield test_client


CONTRACTS = {"analytics/usage": UsageResponse, "analytics/performance": PerformanceResponse,
             "analytics/costs": CostResponse}


def get(client: TestClient, path: str, params=None, status: int = 200) -> dict:
    """GET an analytics path as the admin; a 200 answer must match its documented model."""
    response = client.get(f"{API}/{path}", params=params, headers=ADMIN)
    assert response.status_code == status, response.text
    body = response.json()
    if status == 200:
        CONTRACTS[path].model_validate(body, strict=False)
        assert response.headers["content-type"] == "application/json"
    return body
