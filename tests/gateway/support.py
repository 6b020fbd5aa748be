"""Shared pieces of the gateway tests: the catalog loader, keys, a real uvicorn server in a
thread (uvloop + httptools, as in production), ledger queries."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text

from minerva_core.catalog import diff_catalog, normalise_catalog
from minerva_core.db import migrate
from minerva_core.catalog_store import apply_catalog, load_live_state
from minerva_core.settings import Settings, load_settings
from minerva_core.virtual_keys import create_key
from proxy.gateway import GatewayConfig, gateway_lifespan, install_gateway
from tests.support.database import scratch_database

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openrouter"
ADMIN_TOKEN = "test-admin-token-0123456789"
A, B, C = "openai/gpt-4o-mini", "openai/gpt-4.1-nano", "google/gemini-2.5-flash-lite"
CHAIN_STRATEGY = "test-chain"
ADMIN = "/api/platform/ai-management/openrouter"


@contextmanager
def catalog_database(prefix: str) -> Iterator[str]:
    """A migrated scratch database holding the real catalog (``load_catalog``); its URL."""
    with scratch_database(prefix) as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
            load_catalog(engine)
        finally:
            engine.dispose()
        yield url


def load_catalog(engine: Engine) -> None:
    """The real 2026-08-19 snapshot (414 models) through the discover flow's pure parts."""
    payload = json.loads((FIXTURES / "models-2026-08-19.json").read_text())
    catalog = normalise_catalog(payload)
    with engine.begin() as conn:
        state = load_live_state(conn)
        diff = diff_catalog(state.models, state.price_hashes, catalog)
        apply_catalog(conn, catalog, diff)
        conn.execute(text("SELECT ensure_usage_ledger_partition(now())"))
        conn.execute(
            text("INSERT INTO routing_strategies (name, alias, kind, fallback_chain) "
                 "VALUES (:n, :a, 'cheapest', :chain) ON CONFLICT (name) DO NOTHING"),
            {"n": CHAIN_STRATEGY, "a": f"test/{CHAIN_STRATEGY}", "chain": [B, C]},
        )


def new_key(engine: Engine, name: str = "test", **options: Any) -> tuple[str, str]:
    """(plaintext key, key id)."""
    options.setdefault("default_strategy", CHAIN_STRATEGY)
    with engine.begin() as conn:
        created = create_key(conn, name=name, **options)
    return created.key, str(created.id)


def await_key(app: Any, key: str, timeout: float = 10.0) -> None:
    """Wait until the app's gateway snapshot knows ``key`` (NOTIFY reloads it)."""
    from minerva_core.virtual_keys import hash_key

    digest = hash_key(key)
    wait_for(lambda: (s := app.state.gateway.snapshot) is not None and digest in s.keys, timeout)


def settings_for(db_url: str, upstream: str, home: Path) -> Settings:
    return load_settings(environ={
        "MINERVA_DATABASE_URL": db_url, "OPENROUTER_BASE_URL": upstream, "MINERVA_ADMIN_TOKEN": ADMIN_TOKEN,
        "MINERVA_HOME": str(home), "MINERVA_ENV": "test",
    })


def test_config(home: Path, **overrides: Any) -> GatewayConfig:
    values: dict[str, Any] = {
        "spool_dir": home / "spool", "ledger_flush_interval_s": 0.05, "reload_poll_s": 1.0,
        "forward_headers": "http-referer,x-title,x-emulator-ttft-ms,x-emulator-token-ms,x-emulator-fault",
    }
    values.update(overrides)
    return GatewayConfig(**values)


def build_app(settings: Settings, config: GatewayConfig) -> FastAPI:
    app = FastAPI(lifespan=gateway_lifespan)
    install_gateway(app, settings, config=config)
    return app


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn (uvloop, httptools) on a free loopback port; yield its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, loop="uvloop", http="httptools",
                            log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="gateway-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def ledger(engine: Engine, request_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM usage_ledger WHERE request_id = :r"), {"r": request_id}).first()
    return None if row is None else dict(row._mapping)


def decision(engine: Engine, request_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM routing_decisions WHERE request_id = :r"), {"r": request_id}).first()
    return None if row is None else dict(row._mapping)


def rows_for(engine: Engine, request_id: str, timeout: float = 10.0) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ledger and decision rows of a request, once the writer has flushed them."""
    wait_for(lambda: ledger(engine, request_id) and decision(engine, request_id), timeout)
    return ledger(engine, request_id), decision(engine, request_id)  # type: ignore[return-value]
