"""The 10M-row analytics benchmark's data: the dedicated database, the generated ledger rows,
the catalog (the real snapshot plus the bench models) and the top-up of a reused database.
See bench/analytics_10m.py for what is generated and why."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

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


def midnight(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


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
