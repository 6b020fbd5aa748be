"""Benchmark: the analytics views and API over 10,000,000 usage_ledger rows.

    uv run python bench/analytics_10m.py [--rows 10000000] [--fresh] [--requests 50]

1. Data, in a dedicated database (minerva_bench_analytics, or MINERVA_BENCH_ANALYTICS_DB, on
   MINERVA_DATABASE_URL's server, else 127.0.0.1:5432), kept between runs; --fresh drops it. Rows are made server-side
   (INSERT … SELECT over generate_series, 1 M per statement) over the 90 days before the
   generation: 50 keys (skewed; one app each), 40 models (each key mostly uses 8), each model
   served by 2 of 10 providers (80/20), statuses 94% ok, 3% error, 1% timeout, 1%
   rate_limited, 1% cancelled; 3% without an upstream charge yet. Plus a succeeded
   reconciliation run over days 60..30 ago (items per day x model x provider) and a failed
   one. A reused database is topped up to now at the same rate, so the recent windows
   (last hour, day, week) have traffic. The catalog is the real 2026-08-19 snapshot (414
   models) plus the 40 bench models, each a copy of a real benchmarked text model under the
   bench id, priced as the rows' estimates are (model m: (m+1) x $0.1 / M prompt tokens,
   4 x that per completion token), so the savings analysis has real work: every group has
   candidates, some cheaper.
2. Every mv_* view refreshed as the refresh flow does it (minerva_core.views): the closed
   days frozen first (all history the first time), then each view in dependency order,
   plainly when never populated, then CONCURRENTLY twice; each duration printed, then each
   view's rows and size.
3. The real app (create_app + uvicorn, in a child process, the analytics router mounted
   under the admin prefix) over real HTTP: each endpoint --requests times with varied
   parameters (after 5 warm-up requests each); p50/p95/max ms per endpoint. Target: p95 <=
   300 ms on every endpoint, analytics/costs with its savings analysis included (read from
   mv_savings_daily). The server keeps the parsed catalog and each analysed group's row
   per catalog version, so a period asked again is answered from rows seen before; "costs+
   savings new period" asks each of its periods once (nothing to reuse but the catalog), and
   the very first savings request, which also parses the catalog, is printed apart ("cold").
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _analytics_data import (  # noqa: E402
    API,
    DB_NAME,
    TOKEN,
    db_url,
    generate,
    libpq,
    prepare_database,
    server_url,
)
from _harness import Process, free_port, python  # noqa: E402


def refresh_views(only_unpopulated: bool = False) -> None:
    """Every view refreshed three times (plainly when never populated, then concurrently),
    or, ``only_unpopulated``, just the views never populated, once."""
    from minerva_core import views

    engine = create_engine(db_url())
    try:
        print(f"\n{'view':<28}{'refresh':<14}{'ms':>10}")
        for attempt in range(1 if only_unpopulated else 3):
            started = time.perf_counter()
            with engine.begin() as conn:  # as the refresh flow does first
                frozen = views.freeze_closed_days(conn)
            print(f"{'(freeze closed days: ' + str(frozen) + ')':<42}{(time.perf_counter() - started) * 1000:>10,.0f}",
                  flush=True)
            with engine.connect() as conn:
                listed = views.materialized_views(conn)
            for name, populated in listed:
                if only_unpopulated and populated:
                    continue
                outcome = views.refresh_view(engine, name, populated)
                kind = "concurrently" if outcome.concurrently else "plain"
                print(f"{name:<28}{kind:<14}{outcome.duration_ms:>10,}{'  FAILED ' + outcome.error if outcome.error else ''}",
                      flush=True)
        with engine.connect() as conn:
            print(f"\n{'view':<28}{'rows':>12}{'size':>12}")
            for name, _ in views.materialized_views(conn):
                count, size = conn.exec_driver_sql(
                    f'SELECT count(*), pg_size_pretty(pg_total_relation_size(\'"{name}"\')) FROM "{name}"').one()
                print(f"{name:<28}{count:>12,}{size:>12}")
            count = conn.exec_driver_sql("SELECT count(*) FROM usage_ledger").scalar_one()
            size = conn.exec_driver_sql("SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) "
                                        "FROM pg_inherits WHERE inhparent = 'usage_ledger'::regclass").scalar_one()
            print(f"{'usage_ledger':<28}{count:>12,}{size:>12}")
    finally:
        engine.dispose()


def serve(port: int) -> None:
    """The child process: the real app with the analytics router, on uvicorn."""
    import uvicorn
    from fastapi import Depends

    from minerva_core.settings import load_settings
    from proxy.app import create_app
    from proxy.deps import require_admin
    from proxy.routes.analytics import router

    home = Path(os.environ.get("TMPDIR", "/tmp")) / "minerva-bench-analytics"
    settings = load_settings({"MINERVA_DATABASE_URL": db_url(), "MINERVA_ADMIN_TOKEN": TOKEN, "MINERVA_HOME": str(home),
                              "MINERVA_ENV": "test", "MINERVA_LOG_LEVEL": "WARNING"})
    app = create_app(settings)
    if not any(getattr(r, "path", "").endswith("/analytics/usage") for r in app.routes):
        app.include_router(router, prefix=API, dependencies=[Depends(require_admin)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def variants(rng: random.Random, keys: list[str]) -> dict[str, list[dict]]:
    models = [f"vendor{m % 8}/model-{m}" for m in range(40)]
    usage = []
    for _ in range(200):
        kind = rng.choice(["hour", "day", "day", "week", "month"])
        if kind == "hour":
            params = {"bucket": "hour", "from": f"-{rng.choice([6, 24, 48, 72])}h",
                      "group_by": rng.choice(["", "model", "provider", "key", "status", "app"])}
        else:
            params = {"bucket": kind, "from": f"-{rng.choice([7, 30, 60, 90])}d",
                      "group_by": rng.choice(["", "model", "provider", "key", "app,status", "provider,status"])}
        if rng.random() < 0.3:
            name = rng.choice(["model", "provider", "api_key_id"])
            params[name] = rng.choice({"model": models, "provider": [f"provider-{p}" for p in range(10)],
                                       "api_key_id": keys}[name])
        usage.append(params)
    performance = [{"window": rng.choice(["hour", "day", "week"]), "group_by": rng.choice(["model", "model,provider"]),
                    **({"model": rng.choice(models)} if rng.random() < 0.3 else {})} for _ in range(200)]
    costs = [{"group_by": rng.choice(["day", "model", "provider", "key"]), "savings": "false",
              **({"from": f"-{rng.choice([7, 30, 90])}d"} if rng.random() < 0.6 else {})} for _ in range(200)]
    with_savings = [{k: v for k, v in c.items() if k != "savings"} for c in costs]
    # periods asked once each (no row of any earlier answer to reuse): the uncached analysis
    days = rng.sample([d for d in range(1, 90) if d not in (7, 30, 90)], 55)
    first_ask = [{"group_by": rng.choice(["day", "model", "provider", "key"]), "from": f"-{d}d"} for d in days]
    return {"usage": usage, "performance": performance, "costs": costs, "costs+savings": with_savings,
            "costs+savings new period": first_ask}


def fix_params(params: dict, now) -> dict:
    """Relative 'from' values (-6h, -30d) to instants; api_key_id/model filters kept as sent."""
    out = {k: v for k, v in params.items() if v != ""}
    if "from" in out:
        amount, unit = int(out["from"][1:-1]), out["from"][-1]
        out["from"] = (now - (timedelta(hours=amount) if unit == "h" else timedelta(days=amount))).isoformat()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def fire(requests: int, savings_requests: int) -> bool:
    port = free_port()
    server = Process("analytics-api", [python(), __file__, "--serve", str(port)])
    headers = {"Authorization": f"Bearer {TOKEN}"}
    base = f"http://127.0.0.1:{port}{API}"
    try:
        server.wait_http(f"http://127.0.0.1:{port}/healthz")
        with psycopg.connect(libpq(DB_NAME)) as conn:
            keys = [str(r[0]) for r in conn.execute("SELECT id FROM api_keys WHERE name LIKE 'bench-key-%'")]
        now = datetime.now(timezone.utc)
        rng = random.Random(20261128)
        met = True
        slowest: list[tuple] = []
        print(f"\n{'analytics/':<26}{'n':>5}{'ok':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'avg KB':>9}")
        with httpx.Client(headers=headers, timeout=60) as client:
            for endpoint, cases in variants(rng, keys).items():
                path = endpoint.split("+")[0]
                n = savings_requests if endpoint.startswith("costs+savings") else requests
                for i, params in enumerate(cases[:5 if n else 0]):  # warm-up
                    started = time.perf_counter()
                    client.get(f"{base}/analytics/{path}", params=fix_params(params, now))
                    if endpoint == "costs+savings" and i == 0:
                        cold = (time.perf_counter() - started) * 1000
                timings, sizes, ok = [], [], 0
                for params in cases[5:5 + n]:
                    started = time.perf_counter()
                    response = client.get(f"{base}/analytics/{path}", params=fix_params(params, now))
                    timings.append((time.perf_counter() - started) * 1000)
                    slowest.append((timings[-1], endpoint, params, response.headers.get("content-length")))
                    sizes.append(len(response.content) / 1024)
                    if response.status_code == 200:
                        ok += 1
                    else:
                        print(f"  {response.status_code} {params}: {response.text[:200]}")
                if not timings:
                    continue
                p95 = pct(timings, 0.95)
                met &= p95 <= 300 and ok == len(timings)
                print(f"{endpoint:<26}{len(timings):>5}{ok:>5}{statistics.median(timings):>10.1f}"
                      f"{p95:>10.1f}{max(timings):>10.1f}{statistics.mean(sizes):>9.1f}", flush=True)
        if savings_requests:
            print(f"analytics/costs+savings: cold (first request, parses the catalog) {cold:.1f} ms")
        print("\nslowest requests:")
        for ms, endpoint, params, size in sorted(slowest, key=lambda t: -t[0])[:6]:
            print(f"  {ms:8.1f} ms  {endpoint:<14} {size:>8} B  {params}")
        print(f"\ntarget p95 <= 300 ms on every endpoint (costs+savings included): {'met' if met else 'MISSED'}")
        return met
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the bench database")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint")
    parser.add_argument("--savings-requests", type=int, default=50,
                        help="timed analytics/costs requests with savings (from mv_savings_daily)")
    parser.add_argument("--skip-refresh", action="store_true",
                        help="reuse the views as they are (a view never populated is still refreshed once)")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    print(f"database {DB_NAME} on {make_url(server_url()).host}:{make_url(server_url()).port}; "
          f"run {uuid.uuid4().hex[:8]}; cpus {os.cpu_count()}; load {os.getloadavg()[0]:.1f}")
    prepare_database(args.fresh)
    generate(args.rows)
    refresh_views(only_unpopulated=args.skip_refresh)
    return 0 if fire(args.requests, args.savings_requests) else 1


if __name__ == "__main__":
    sys.exit(main())
