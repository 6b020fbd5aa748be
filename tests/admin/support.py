"""Shared pieces of the admin pages' browser tests: Chromium (Debian's, through the
playwright package), the app served by a real uvicorn server in a thread, a slice of a real
catalog snapshot, ledger rows for the dashboard, screenshots."""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI
from sqlalchemy import Engine, text

from minerva_core.catalog import diff_catalog, normalise_catalog
from minerva_core.catalog_store import apply_catalog, load_live_state
from minerva_core.settings import Settings
from proxy.admin import install_admin
from proxy.admin.session import SessionConfig
from proxy.app import create_app
from proxy.deps import require_admin
from tests.conftest import OPENROUTER_FIXTURES

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "admin-ui-" + uuid.uuid4().hex
API = "/api/platform/ai-management/openrouter"
SNAPSHOT = OPENROUTER_FIXTURES / "models-2026-08-19.json"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("MINERVA_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
# Models the tests name: all in the slice below, all with tools, none variable-priced.
CHEAP, MID, SMART = "openai/gpt-4o-mini", "openai/gpt-4.1", "anthropic/claude-sonnet-4"


def chromium_executable() -> str:
    """Debian's Chromium; a clear failure (never a skip) when it is missing."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"Chromium is not installed at {CHROMIUM}: the admin pages are tested in a real browser. "
            "Install it with `apt-get update && apt-get install -y chromium` (Debian), or point "
            "MINERVA_CHROMIUM at a Chromium binary."
        )
    return CHROMIUM


def launch_browser(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=chromium_executable(), args=LAUNCH_ARGS)


def catalog_slice(tmp: Path, size: int = 80) -> Path:
    """A deterministic slice of the real snapshot (every k-th model plus the named ones), so
    the discover flow a test starts is quick."""
    records = json.loads(SNAPSHOT.read_text())["data"]
    step = max(1, len(records) // size)
    named = {CHEAP, MID, SMART}
    chosen = [r for i, r in enumerate(records) if i % step == 0 or r["id"] in named]
    missing = named - {r["id"] for r in chosen}
    assert not missing, f"{SNAPSHOT.name} lacks {missing}"
    path = tmp / "models-slice.json"
    path.write_text(json.dumps({"data": chosen}))
    return path


def load_catalog(engine: Engine, snapshot: Path) -> int:
    """The snapshot into ai_models / ai_model_prices through the discover flow's pure parts."""
    catalog = normalise_catalog(json.loads(snapshot.read_text()))
    with engine.begin() as conn:
        state = load_live_state(conn)
        apply_catalog(conn, catalog, diff_catalog(state.models, state.price_hashes, catalog))
        conn.execute(text("SELECT ensure_usage_ledger_partition(now())"))
        return conn.execute(text("SELECT count(*) FROM ai_models")).scalar_one()


def seed_ledger(engine: Engine, models: list[str], *, rows: int = 400, seed: int = 11) -> None:
    """Usage over the last ten days (errors and latencies included), views refreshed."""
    from minerva_core import views as mv

    rng = random.Random(seed)
    with engine.begin() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        batch = []
        for i in range(rows):
            at = now - timedelta(seconds=rng.uniform(60, 10 * 86400))
            status = rng.choices(["ok", "error", "timeout"], weights=[90, 7, 3])[0]
            estimate = Decimal(rng.randint(1_000, 9_000_000)) / Decimal(10**9)
            batch.append({
                "request_id": f"admin-ui-{i}", "created_at": at, "model_used": rng.choice(models),
                "provider_name": rng.choice(["OpenAI", "Anthropic", "Google"]), "prompt_tokens": rng.randint(10, 3000),
                "completion_tokens": rng.randint(0, 800) if status == "ok" else 0, "cost_usd": estimate,
                "cost_estimated_usd": estimate, "latency_ms": rng.randint(150, 6000), "status": status,
                "error_type": None if status == "ok" else f"upstream_{status}",
            })
        months = {r["created_at"].replace(day=1, hour=0, minute=0, second=0, microsecond=0) for r in batch}
        for month in sorted(months):
            conn.execute(text("SELECT ensure_usage_ledger_partition(:m)"), {"m": month})
        conn.execute(text(
            "INSERT INTO usage_ledger (request_id, created_at, model_used, provider_name, prompt_tokens, "
            "completion_tokens, cost_usd, cost_source, cost_estimated_usd, latency_ms, status, error_type) VALUES "
            "(:request_id, :created_at, :model_used, :provider_name, :prompt_tokens, :completion_tokens, :cost_usd, "
            "'response', :cost_estimated_usd, :latency_ms, :status, :error_type)"), batch)
    with engine.connect() as conn:
        listed = mv.materialized_views(conn)
    for name, populated in listed:
        outcome = mv.refresh_view(engine, name, populated)
        assert not outcome.error, outcome


def _mounted(app: FastAPI, path: str) -> bool:
    return any(getattr(route, "path", None) == path for route in app.router.routes) or any(
        getattr(r, "path", None) == path for inc in app.router.routes
        for r in getattr(getattr(inc, "original_router", None), "routes", []) or []
        if getattr(getattr(inc, "include_context", None), "prefix", "") + getattr(r, "path", "") == path)


def mount_colleagues(app: FastAPI) -> None:
    """The analytics router where the lead will mount it (prefix + admin dependency), unless
    the app already has it. The gateway (routing/*) is installed by create_app."""
    from proxy.routes import analytics

    if not _mounted(app, f"{API}/analytics/usage"):
        app.include_router(analytics.router, prefix=API, dependencies=[Depends(require_admin)])


def build_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    app = create_app(settings, engine=engine)
    mount_colleagues(app)
    install_admin(app, session_config=SessionConfig(secure_cookie=False, ttl_seconds=3600))
    return app


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yield its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="admin-ui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the admin test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def screenshot(page: Any, name: str, shots: Path, *, publish: bool = False) -> Path:
    """Save the page as <shots>/<name>.png (every test does). The one picture of each page
    (``publish``) is copied to docs/screenshots/ when MINERVA_UPDATE_SCREENSHOTS=1."""
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 5_000, f"{path} looks empty"
    if publish and os.environ.get("MINERVA_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)
    return path


def login(page: Any, base_url: str, next_path: str = "/admin/dashboard") -> None:
    page.goto(f"{base_url}/admin/login?next={next_path}")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{next_path}*")


def wait_ready(page: Any, timeout: float = 20_000) -> None:
    page.wait_for_function("() => document.documentElement.dataset.ready === 'true'", timeout=timeout)


def now_utc() -> datetime:
    return datetime.now().astimezone()


__all__ = ["ADMIN_TOKEN", "API", "CHEAP", "MID", "SMART", "build_app", "catalog_slice", "chromium_executable",
           "launch_browser", "load_catalog", "login", "screenshot", "seed_ledger", "serve", "wait_ready"]
