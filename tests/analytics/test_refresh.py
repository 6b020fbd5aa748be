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
                   "mv_usage_daily_by_model", "mv_usage_hourly", "mv_usage_hourly_by_key", "mv_usage_hourly_by_model",
                   "mv_savings_daily"}


def test_every_view_has_the_unique_index_concurrently_needs(seeded):
    with seeded.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, bool_or(i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL) AS ok "
            "FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid "
            "WHERE c.relkind = 'm' AND c.relname LIKE 'mv\\_%' GROUP BY c.relname"
        )).all()
    assert {r.relname for r in rows if r.ok} >= ANALYTICS_VIEWS


def test_views_are_listed_after_the_views_they_read(seeded):
    with seeded.engine.connect() as conn:
        order = [name for name, _ in mv.materialized_views(conn)]
    assert set(order) >= ANALYTICS_VIEWS
    for source, derived in (("mv_usage_daily", "mv_usage_daily_by_model"), ("mv_usage_daily_by_model", "mv_cost_daily"),
                            ("mv_usage_daily", "mv_usage_daily_by_key"), ("mv_usage_hourly", "mv_usage_hourly_by_key"),
                            ("mv_usage_hourly", "mv_usage_hourly_by_model")):
        assert order.index(source) < order.index(derived), (source, derived)


def test_concurrent_refresh_repeatedly_follows_new_rows(client, seeded):
    for _ in range(3):
        outcomes = refresh_all(seeded.engine)
        assert {o.view for o in outcomes if o.concurrently} >= ANALYTICS_VIEWS
    before = get(client, "analytics/usage", {"bucket": "hour", "from": (seeded.now - timedelta(hours=3)).isoformat()})
    recent = {"savings": "false", "from": (seeded.now - timedelta(days=4)).date().isoformat()}
    costs_before = get(client, "analytics/costs", recent)["totals"]["requests"]
    with seeded.engine.begin() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        extra = ledger_data.make_rows(now, seeded.keys, seed=99, spread=0, recent=0, last_hours=50)
        for i, row in enumerate(extra):
            row["request_id"] = f"late-{i}"
        ledger_data.insert_rows(conn, extra)
    refresh_all(seeded.engine)
    after = get(client, "analytics/usage", {"bucket": "hour", "from": (seeded.now - timedelta(hours=3)).isoformat()})
    assert after["totals"]["requests"] == before["totals"]["requests"] + len(extra)
    # mv_cost_daily reads mv_usage_daily_by_model: one run refreshes it after its source
    assert get(client, "analytics/costs", recent)["totals"]["requests"] == costs_before + len(extra)
    seeded.rows.extend(extra)  # later tests of this module see them too


def test_buckets_are_utc_whatever_the_session_time_zone(seeded):
    with seeded.engine.begin() as conn:
        conn.execute(text("SET LOCAL TimeZone = 'Asia/Kolkata'"))
        for view, _ in mv.materialized_views(conn):  # the flow's order: sources before derived views
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


_LEDGER_DAILY = """
SELECT (date_bin('1 day', created_at, '2000-01-01 00:00+00') AT TIME ZONE 'UTC')::date AS day,
       coalesce(api_key_id, '00000000-0000-0000-0000-000000000000'::uuid), coalesce(app, ''),
       coalesce(model_used, ''), coalesce(provider_name, ''), analytics_status_class(status),
       count(*), count(*) FILTER (WHERE status = 'timeout'), count(*) FILTER (WHERE status = 'rate_limited'),
       sum(prompt_tokens), sum(completion_tokens), sum(reasoning_tokens), sum(cached_tokens), sum(cache_write_tokens),
       coalesce(sum(cost_usd), 0), coalesce(sum(cost_estimated_usd), 0),
       coalesce(sum(coalesce(cost_usd, cost_estimated_usd)), 0), count(*) FILTER (WHERE cost_usd IS NULL),
       count(*) FILTER (WHERE fallback_depth > 0), count(*) FILTER (WHERE streamed),
       coalesce(sum(latency_ms), 0), count(latency_ms), coalesce(sum(ttft_ms), 0), count(ttft_ms)
  FROM usage_ledger GROUP BY 1, 2, 3, 4, 5, 6
"""
_VIEW_DAILY = """
SELECT day, api_key_id, app, model_used, provider_name, status_class, requests, timeouts, rate_limited,
       prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cache_write_tokens, cost_usd,
       cost_estimated_usd, spend_usd, cost_unknown, fallbacks, streamed, latency_ms_sum, latency_count,
       ttft_ms_sum, ttft_count
  FROM mv_usage_daily
"""
_LEDGER_SAVINGS = """
SELECT (date_bin('1 day', created_at, '2000-01-01 00:00+00') AT TIME ZONE 'UTC')::date,
       coalesce(api_key_id, '00000000-0000-0000-0000-000000000000'::uuid), coalesce(app, ''), app IS NULL,
       model_used, count(*) FILTER (WHERE cost_usd IS NOT NULL), count(*) FILTER (WHERE cost_usd IS NULL),
       coalesce(sum(cost_usd), 0), coalesce(sum(prompt_tokens) FILTER (WHERE cost_usd IS NOT NULL), 0),
       coalesce(sum(completion_tokens) FILTER (WHERE cost_usd IS NOT NULL), 0),
       max(prompt_tokens + completion_tokens), max(prompt_tokens), max(completion_tokens)
  FROM usage_ledger WHERE status = 'ok' AND model_used IS NOT NULL GROUP BY 1, 2, 3, 4, 5
"""
_VIEW_SAVINGS = """
SELECT day, api_key_id, app, app_is_null, model_used, requests, uncharged_requests, actual_usd, prompt_tokens,
       completion_tokens, max_context_tokens, max_prompt_tokens, max_completion_tokens
  FROM mv_savings_daily
"""


def test_frozen_days_keep_the_figures_of_the_ledger(seeded):
    """The refresh (refresh_all, as the flow) froze the days older than a week; the two daily
    views, made of frozen days + recent ledger rows + hours, still hold exactly the ledger's
    figures day by day, and a second freeze finds nothing left to do."""
    refresh_all(seeded.engine)
    with seeded.engine.begin() as conn:
        through, week_ago = conn.execute(text(
            "SELECT through, (now() AT TIME ZONE 'UTC')::date - 7 FROM rollup_frozen")).one()
        frozen_days = conn.execute(text("SELECT count(DISTINCT day) FROM usage_daily_frozen")).scalar_one()
        frozen_savings = conn.execute(text("SELECT count(*) FROM savings_daily_frozen")).scalar_one()
        assert through == week_ago and frozen_days >= 30 and frozen_savings > 0  # 40 days of rows
        assert mv.freeze_closed_days(conn) == 0
        for view, ledger in ((_VIEW_DAILY, _LEDGER_DAILY), (_VIEW_SAVINGS, _LEDGER_SAVINGS)):
            assert conn.execute(text(f"SELECT count(*) FROM ({view} EXCEPT ALL {ledger}) d")).scalar_one() == 0
            assert conn.execute(text(f"SELECT count(*) FROM ({ledger} EXCEPT ALL {view}) d")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM mv_usage_daily WHERE day < :t"), {"t": through}).scalar_one() > 0
