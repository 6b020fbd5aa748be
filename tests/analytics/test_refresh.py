"""The views under the refresh flow: CONCURRENTLY, repeatedly, as rows arrive; UTC buckets
whatever the session time zone; the real Prefect flow records each refresh."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta, timezone

import pytest
from sqlalchemy import text

from minerva_core import views as mv
from tests.analytics import expected, ledger_data
from tests.analytics.conftest import get, refresh_all

ANALYTICS_VIEWS = {"mv_cost_daily", "mv_model_performance", "mv_usage_daily", "mv_usage_daily_by_key",
                   "mv_usage_daily_by_model", "mv_usage_hourly", "mv_usage_hourly_by_key", "mv_usage_hourly_by_model"}


def test_every_view_has_the_unique_index_concurrently_needs(seeded):
    with seeded.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, bool_or(i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL) AS ok "
            "FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid "
            "WHERE c.relkind = 'm' AND c.relname LIKE 'mv\\_%' GROUP BY c.relname"
        )).all()
    assert {r.relname for r in rows if r.ok} >= ANALYTICS_VIEWS


def test_concurrent_refresh_repeatedly_follows_new_rows(client, seeded):
    for _ in range(3):
        outcomes = refresh_all(seeded.engine)
        assert {o.view for o in outcomes if o.concurrently} >= ANALYTICS_VIEWS
    before = get(client, "analytics/usage", {"bucket": "hour", "from": (seeded.now - timedelta(hours=3)).isoformat()})
    with seeded.engine.begin() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        extra = ledger_data.make_rows(now, seeded.keys, seed=99, spread=0, recent=0, last_hours=50)
        for i, row in enumerate(extra):
            row["request_id"] = f"late-{i}"
        ledger_data.insert_rows(conn, extra)
    refresh_all(seeded.engine)
    after = get(client, "analytics/usage", {"bucket": "hour", "from": (seeded.now - timedelta(hours=3)).isoformat()})
    assert after["totals"]["requests"] == before["totals"]["requests"] + len(extra)
    seeded.rows.extend(extra)  # later tests of this module see them too


def test_buckets_are_utc_whatever_the_session_time_zone(seeded):
    with seeded.engine.begin() as conn:
        conn.execute(text("SET LOCAL TimeZone = 'Asia/Kolkata'"))
        for view in sorted(ANALYTICS_VIEWS):  # the flow's order: sources before derived views
            conn.execute(text(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}"))
    with seeded.engine.connect() as conn:
        conn.execute(text("SET TimeZone = 'America/Los_Angeles'"))
        days = dict(conn.execute(text("SELECT day, sum(requests)::int FROM mv_usage_daily GROUP BY day")).all())
        hours = {b.astimezone(timezone.utc): n for b, n in conn.execute(text(  # (not dict(): 01:00 twice at DST's end)
            "SELECT bucket_start, sum(requests)::int FROM mv_usage_hourly GROUP BY bucket_start"))}
        costs = dict(conn.execute(text("SELECT day, sum(requests)::int FROM mv_cost_daily GROUP BY day")).all())
        since = conn.execute(text("SELECT analytics_hourly_since(now())")).scalar_one()
    want_days = Counter(expected.day_of(r["created_at"]) for r in seeded.rows)
    assert days == dict(want_days)
    assert {d: n for d, n in costs.items() if n} == dict(want_days)
    assert hours == dict(Counter(expected.bucket_of(r["created_at"], "hour") for r in seeded.rows
                                 if r["created_at"] >= since))


@pytest.mark.slow
def test_the_refresh_flow_refreshes_and_records_them(client, seeded, prefect_harness, monkeypatch):
    from flows import _runtime
    from flows.refresh import refresh

    monkeypatch.setenv("MINERVA_DATABASE_URL", seeded.url)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    try:
        result = refresh()
    finally:
        _runtime.engine_for.cache_clear()
    assert set(result["durations_ms"]) >= ANALYTICS_VIEWS
    with seeded.engine.connect() as conn:
        recorded = conn.execute(text(
            "SELECT view_name, ran_concurrently, status FROM materialized_view_refreshes")).all()
        listed = dict(mv.materialized_views(conn))
    assert {r.view_name for r in recorded if r.ran_concurrently and r.status == "succeeded"} >= ANALYTICS_VIEWS
    assert all(listed[v] for v in ANALYTICS_VIEWS)
    for path in ("analytics/usage", "analytics/performance", "analytics/costs"):
        assert get(client, path)["refreshed_at"] is not None
