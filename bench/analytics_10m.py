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

from _harness import Process, free_port, python  # noqa: E402

DB_NAME = os.environ.get("MINERVA_BENCH_ANALYTICS_DB", "minerva_bench_analytics")
API = "/api/platform/ai-management/openrouter"
TOKEN = "bench-admin-token"
CHUNK = 1_000_000
SPAN = timedelta(days=90)

ROWS_SQL = """
INSERT INTO usage_ledger (request_id, created_at, generation_id, api_key_id, app, strategy, model_requested,
    model_used, provider_name, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens,
    cost_usd, cost_estimated_usd, cost_source, latency_ms, ttft_ms, status, error_type, http_status,
    fallback_depth, streamed)
SELECT 'bench-' || i, at, 'gen-bench-' || i, k.id, 'app-' || mod(k.n, 12), 'balanced', m_id, m_id,
       'provider-' || mod(m + CASE WHEN r3 < 0.8 THEN 0 ELSE 3 END, 10), prompt, completion, reasoning, cached,
       CASE WHEN r6 >= 0.03 THEN round(est * (0.98 + r6 * 0.04)::numeric, 10) END, est,
       CASE WHEN r6 >= 0.03 THEN 'response' END,
       latency, CASE WHEN streamed THEN ttft END, status,
       CASE WHEN status <> 'ok' THEN 'upstream_' || status END,
       CASE status WHEN 'ok' THEN 200 WHEN 'rate_limited' THEN 429 WHEN 'timeout' THEN 504
                   WHEN 'cancelled' THEN 499 ELSE 502 END,
       CASE WHEN r7 < 0.05 THEN 1 ELSE 0 END, streamed
  FROM (SELECT i, at, kn, m, 'vendor' || mod(m, 8) || '/model-' || m AS m_id, r3, r6, r7, status, prompt,
               completion, reasoning, cached, streamed,
               round(((prompt * (m + 1)) * 0.0000001 + (completion * (m + 1)) * 0.0000004)::numeric, 10) AS est,
               (200 + r8 * 3000 * (1 + mod(m, 5)))::int + CASE WHEN status = 'ok' THEN completion ELSE 0 END AS latency,
               (40 + r9 * 600)::int AS ttft
          FROM (SELECT i, %(t0)s::timestamptz + (i - %(first)s) * %(step)s::interval AS at,
                       floor(r1 * r1 * 50)::int AS kn,
                       mod(floor(r1 * r1 * 50)::int * 7 + floor(r2 * r2 * r2 * 8)::int, 40) AS m,
                       CASE WHEN r4 < 0.94 THEN 'ok' WHEN r4 < 0.97 THEN 'error' WHEN r4 < 0.98 THEN 'timeout'
                            WHEN r4 < 0.99 THEN 'rate_limited' ELSE 'cancelled' END AS status,
                       50 + floor(r5 * 4000)::int AS prompt,
                       CASE WHEN r4 < 0.94 THEN floor(r10 * 1500)::int ELSE 0 END AS completion,
                       CASE WHEN r10 < 0.2 THEN floor(r10 * 2000)::int ELSE 0 END AS reasoning,
                       floor(r5 * r2 * 800)::int AS cached, r11 < 0.6 AS streamed, r3, r6, r7, r8, r9
                  FROM (SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
                               random() r7, random() r8, random() r9, random() r10, random() r11
                          FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) i) raw) shaped) r
  JOIN (SELECT id, (row_number() OVER (ORDER BY name) - 1)::int AS n FROM api_keys
         WHERE name LIKE 'bench-key-%%') k ON k.n = r.kn
"""

RECONCILIATION_SQL = (
    """
    WITH run AS (
        INSERT INTO reconciliation_runs (period_from, period_to, status, started_at, finished_at)
        VALUES (%(f)s, %(t)s, 'succeeded', now(), now()) RETURNING id
    )
    INSERT INTO reconciliation_items (run_id, classification, day, model, provider_name, ledger_amount_usd,
                                      bill_amount_usd)
    SELECT run.id, CASE WHEN random() < 0.97 THEN 'matched' ELSE 'amount_mismatch' END, g.day, g.model_used,
           g.provider_name, g.cost, g.cost
      FROM run, (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, model_used, provider_name, sum(cost_usd) AS cost
                   FROM usage_ledger WHERE created_at >= %(f)s AND created_at < %(t)s AND cost_usd IS NOT NULL
                  GROUP BY 1, 2, 3) g
    """,
    "UPDATE reconciliation_items SET bill_amount_usd = ledger_amount_usd * 1.02 "
    "WHERE classification = 'amount_mismatch'",
    "INSERT INTO reconciliation_runs (period_from, period_to, status, started_at, finished_at, error) "
    "VALUES (%(f2)s, %(t2)s, 'failed', now(), now(), 'bench: a failed run reconciles nothing')",
)


def server_url() -> str:
    return os.environ.get("MINERVA_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def db_url(name: str = DB_NAME) -> str:
    return make_url(server_url()).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def libpq(name: str) -> str:
    return make_url(db_url(name)).set(drivername="postgresql").render_as_string(hide_password=False)


def prepare_database(fresh: bool) -> None:
    from minerva_core.db import migrate
    from minerva_core.errors import MigrationChecksumError

    with psycopg.connect(libpq("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
        if not exists or fresh:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    engine = create_engine(db_url())
    try:
        migrate.upgrade(engine)
    except MigrationChecksumError as exc:
        raise SystemExit(f"{DB_NAME} was migrated with an older version of a migration ({exc}); "
                         "rerun with --fresh") from None
    finally:
        engine.dispose()


def insert_rows(conn: psycopg.Connection, first: int, count: int, t0, step: timedelta) -> None:
    """Rows first .. first+count-1, the i-th at t0 + (i - first) * step; their months' partitions first."""
    month, last = midnight(t0).replace(day=1), t0 + count * step
    while month <= last:
        conn.execute("SELECT ensure_usage_ledger_partition(%s)", (month,))
        month = (month + timedelta(days=32)).replace(day=1)
    for lo in range(first, first + count, CHUNK):
        hi = min(first + count, lo + CHUNK) - 1
        started = time.perf_counter()
        conn.execute(ROWS_SQL, {"t0": t0, "first": first, "step": step, "lo": lo, "hi": hi})
        print(f"  rows {lo:>11,} .. {hi:>11,}  {time.perf_counter() - started:6.1f} s", flush=True)


def seed_catalog(conn: psycopg.Connection) -> None:
    """The real snapshot plus the 40 bench models (see the module docstring); once."""
    import json
    from copy import deepcopy

    from minerva_core.catalog import diff_catalog, normalise_catalog
    from minerva_core.catalog_store import apply_catalog, load_live_state

    if conn.execute("SELECT 1 FROM ai_models WHERE id = 'vendor0/model-0'").fetchone():
        return
    payload = json.loads((Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "openrouter"
                          / "models-2026-08-19.json").read_text())
    sources = sorted(
        (m for m in payload["data"]
         if ((m.get("benchmarks") or {}).get("artificial_analysis") or {}).get("intelligence_index") is not None
         and ":" not in m["id"] and m["pricing"].get("prompt") not in ("0", "-1")
         and m["architecture"]["input_modalities"] == ["text"] and m["architecture"]["output_modalities"] == ["text"]),
        key=lambda m: m["id"])
    for n in range(40):
        model = deepcopy(sources[n * 7 % len(sources)])
        model["id"] = model["canonical_slug"] = f"vendor{n % 8}/model-{n}"
        model["name"] = f"Bench model {n}"
        model["pricing"] = {"prompt": f"{(n + 1) / 10_000_000:.10f}", "completion": f"{4 * (n + 1) / 10_000_000:.10f}"}
        model.pop("endpoints", None)
        payload["data"].append(model)
    engine = create_engine(db_url())
    try:
        with engine.begin() as sa:
            state = load_live_state(sa)
            catalog = normalise_catalog(payload)
            apply_catalog(sa, catalog, diff_catalog(state.models, state.price_hashes, catalog))
    finally:
        engine.dispose()
    print(f"catalog: {len(payload['data'])} models (the 2026-08-19 snapshot + 40 bench models)", flush=True)


def generate(rows: int) -> None:
    with psycopg.connect(libpq(DB_NAME), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        meta = dict(conn.execute("SELECT key, value FROM bench_meta").fetchall())
        if meta.get("rows") == str(rows):
            print(f"reusing {DB_NAME}: {rows:,} rows generated earlier in {meta.get('seconds')} s")
            seed_catalog(conn)
            top_up(conn, rows)
            return
        print(f"generating {rows:,} rows into {DB_NAME} …", flush=True)
        started = time.perf_counter()
        conn.execute("TRUNCATE usage_ledger, reconciliation_runs CASCADE")
        conn.execute("DELETE FROM bench_meta")
        conn.execute("DELETE FROM api_keys WHERE name LIKE 'bench-key-%'")
        conn.execute(
            "INSERT INTO api_keys (name, key_hash, key_prefix, app, budget_usd, budget_period) "
            "SELECT 'bench-key-' || lpad(n::text, 2, '0'), 'bench-' || md5(n::text), 'mk-bench', 'app-' || (n % 12), "
            "CASE n % 3 WHEN 0 THEN 500 + n WHEN 1 THEN 20 + n END, CASE n % 3 WHEN 0 THEN 'month' WHEN 1 THEN 'day' END "
            "FROM generate_series(0, 49) n")
        now = conn.execute("SELECT now()").fetchone()[0]
        step = SPAN / rows
        insert_rows(conn, 0, rows, now - SPAN, step)
        periods = {"f": midnight(now - timedelta(days=60)), "t": midnight(now - timedelta(days=30)),
                   "f2": midnight(now - timedelta(days=20)), "t2": midnight(now - timedelta(days=10))}
        for statement in RECONCILIATION_SQL:
            conn.execute(statement, periods if "%(" in statement else None)
        seed_catalog(conn)
        conn.execute("ANALYZE")
        seconds = round(time.perf_counter() - started, 1)
        conn.execute("INSERT INTO bench_meta VALUES ('rows', %s), ('seconds', %s), ('step_us', %s), ('next', %s)",
                     (str(rows), str(seconds), str(step / timedelta(microseconds=1)), str(rows)))
        print(f"generated {rows:,} rows in {seconds} s ({rows / seconds:,.0f} rows/s)")


def top_up(conn: psycopg.Connection, rows: int) -> None:
    """Append rows from the newest one to now at the generation's rate (a reused database)."""
    meta = dict(conn.execute("SELECT key, value FROM bench_meta").fetchall())
    newest = conn.execute("SELECT max(created_at) FROM usage_ledger").fetchone()[0]
    step = timedelta(microseconds=float(meta["step_us"]))
    gap = conn.execute("SELECT now() - %s::timestamptz", (newest,)).fetchone()[0]
    count = int(gap / step)
    if count < 1000:
        return
    first = int(meta["next"])
    print(f"topping up: {count:,} rows over the {gap} since the last run", flush=True)
    insert_rows(conn, first, count, newest + step, step)
    conn.execute("UPDATE bench_meta SET value = %s WHERE key = 'next'", (str(first + count),))
    conn.execute("ANALYZE usage_ledger")


def midnight(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


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
