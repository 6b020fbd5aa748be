"""Time to interactive of the admin pages, in a real browser (headless Chromium).

    ./dev bench admin_pages                                   (a scratch database, seeded)
    uv run python bench/admin_pages.py --database-url postgresql+psycopg://…/minerva --loads 10

For each page: one warm-up load, then ``--loads`` loads, each timed from navigation start
to the page's own "ready" marker (``window.__adminReadyAt``, set by its script once its
data is on screen: the dashboard after its three analytics calls and charts, the routing
page after its first decision, the providers page after provider/configure, the model
browser and the login page when parsed). Prints p50 / p95 / max in ms per page against
the 1 s target.

With --database-url (or MINERVA_DATABASE_URL) the pages read that database as it is
(migrated, e.g. the 10 M-row analytics database; nothing is written but the login's
cookie). Without it, a scratch database is created on the local PostgreSQL, loaded with the
real 2026-08-19 catalog and a few thousand ledger rows, and dropped afterwards. The app runs
in this process on uvicorn (a thread), like the tests.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = [("login", "/admin/login"), ("dashboard", "/admin/dashboard"), ("providers", "/admin/providers"),
         ("models", "/admin/models"), ("routing", "/admin/routing")]
TARGET_MS = 1000.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def scratch(stack: ExitStack) -> str:
    from sqlalchemy import create_engine

    from minerva_core.db import migrate
    from tests.admin import support
    from tests.support.database import scratch_database

    url = stack.enter_context(scratch_database("minerva_bench_admin"))
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        support.load_catalog(engine, support.SNAPSHOT)
        support.seed_ledger(engine, [support.CHEAP, support.MID, support.SMART], rows=5000)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE usage_ledger")
    finally:
        engine.dispose()
    return url


def measure(base_url: str, token: str, loads: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from tests.admin import support

    ready = "() => document.documentElement.dataset.ready === 'true'"
    timings: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = support.launch_browser(playwright)
        try:
            context = browser.new_context(viewport=support.VIEWPORT)
            page = context.new_page()
            anonymous = browser.new_context(viewport=support.VIEWPORT).new_page()
            page.goto(f"{base_url}/admin/login")
            page.get_by_label("Admin token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base_url}/admin/dashboard")
            for name, path in PAGES:
                tab = anonymous if name == "login" else page
                samples = []
                for i in range(loads + 1):
                    tab.goto(f"{base_url}{path}", wait_until="commit")
                    tab.wait_for_function(ready, timeout=60_000)
                    if i:  # the first load warms caches (templates, statics, query plans)
                        samples.append(tab.evaluate("() => window.__adminReadyAt"))
                timings[name] = samples
        finally:
            browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("MINERVA_DATABASE_URL"))
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()

    from cryptography.fernet import Fernet
    from sqlalchemy import create_engine

    from minerva_core.settings import load_settings
    from tests.admin import support

    token = "bench-" + uuid.uuid4().hex
    with ExitStack() as stack:
        url = args.database_url or scratch(stack)
        home = stack.enter_context(tempfile.TemporaryDirectory(prefix="minerva-bench-admin-"))
        engine = create_engine(url, pool_size=8, pool_pre_ping=True)
        stack.callback(engine.dispose)
        settings = load_settings({
            "MINERVA_DATABASE_URL": url, "MINERVA_ADMIN_TOKEN": token, "MINERVA_HOME": home,
            "MINERVA_SECRET_KEYS": Fernet.generate_key().decode(), "MINERVA_ENV": "test",
            "OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1",  # never called by these pages
        })
        app = support.build_app(settings, engine=engine)
        base_url = stack.enter_context(support.serve(app))
        with engine.connect() as conn:
            from sqlalchemy import text

            ledger = conn.execute(text(
                "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE p.relname = 'usage_ledger'")).scalar()
            models = conn.execute(text("SELECT count(*) FROM ai_models")).scalar()
        timings = measure(base_url, token, args.loads)

    print(f"admin pages, time to interactive (navigation start -> ready marker), {args.loads} loads each")
    print(f"database: {'given' if args.database_url else 'scratch'}; ~{ledger:,} ledger rows (planner estimate), "
          f"{models} models; {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"Chromium headless {support.VIEWPORT['width']}x{support.VIEWPORT['height']}")
    print(f"{'page':<11} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target <= {TARGET_MS:.0f} ms")
    for name, samples in timings.items():
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        verdict = "ok" if p95 <= TARGET_MS else "OVER"
        print(f"{name:<11} {p50:8.0f} {p95:8.0f} {max(samples):8.0f}  {verdict}")


if __name__ == "__main__":
    main()
