"""Shared by the flags and migration tests: a migrated scratch database, settings from a
literal mapping, and a tiny app with the flags and migration routers mounted (as the lead
will mount them) plus a probe route guarded by require_flag("routing")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from cryptography.fernet import Fernet
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text

from minerva_core.db import migrate
from minerva_core.settings import Settings, load_settings
from proxy.app import create_app
from proxy.routes import flags as flags_routes
from proxy.routes import migration as migration_routes
from tests.support.database import scratch_database

ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
API = "/api/platform/ai-management/openrouter"
SECRET_KEY = Fernet.generate_key().decode()


@contextmanager
def migrated_database(prefix: str) -> Iterator[tuple[str, Engine]]:
    with scratch_database(prefix) as url:
        engine = create_engine(url, pool_size=5, pool_pre_ping=True)
        try:
            migrate.upgrade(engine)
            yield url, engine
        finally:
            engine.dispose()


def make_settings(url: str, home: Path, **extra: str) -> Settings:
    environ = {
        "MINERVA_DATABASE_URL": url, "MINERVA_ADMIN_TOKEN": ADMIN_TOKEN, "MINERVA_SECRET_KEYS": SECRET_KEY,
        "MINERVA_HOME": str(home), "MINERVA_ENV": "test", **extra,
    }
    return load_settings(environ)


class NoLauncher:
    name = "none"

    async def launch(self, request, on_failure) -> None:  # pragma: no cover - never called here
        raise AssertionError("no flow should be launched by these tests")


@contextmanager
def client_for(url: str, engine: Engine, home: Path, **extra: str) -> Iterator[TestClient]:
    app = create_app(make_settings(url, home, **extra), engine=engine, launcher=NoLauncher())
    app.include_router(flags_routes.router, prefix=API)
    app.include_router(migration_routes.router, prefix=API)
    probe = APIRouter(dependencies=[Depends(flags_routes.require_flag("routing"))])

    @probe.get("/probe/routing")
    def routing_probe() -> dict:
        return {"ok": True}

    app.include_router(probe)
    with TestClient(app) as client:
        yield client


def ledger_row(conn: Connection, request_id: str, created_at: datetime, *, status: str = "ok",
               latency_ms: int | None = None, ttft_ms: int | None = None, cost_usd: Decimal | None = None,
               cost_estimated_usd: Decimal | None = None, provider: str | None = None) -> None:
    conn.execute(
        text(
            "INSERT INTO usage_ledger (request_id, created_at, status, latency_ms, ttft_ms, cost_usd, cost_source, "
            "cost_estimated_usd, provider_name, error_type) VALUES (:rid, :at, :status, :lat, :ttft, :cost, :src, "
            ":est, :provider, :etype)"
        ),
        {"rid": request_id, "at": created_at, "status": status, "lat": latency_ms, "ttft": ttft_ms, "cost": cost_usd,
         "src": None if cost_usd is None else "response", "est": cost_estimated_usd, "provider": provider,
         "etype": None if status == "ok" else "upstream_error"},
    )
