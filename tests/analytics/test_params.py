"""The pure parts: parameter parsing, bucketing math, trends, the SQL builders' binding."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from minerva_core.analytics import params as p
from minerva_core.analytics.performance import PerformanceQuery, performance_sql
from minerva_core.analytics.results import PerformanceFigures
from minerva_core.analytics.trend import trend, trends
from minerva_core.analytics.usage import UsageFilter, UsageQuery, usage_sql
from minerva_core.errors import InvalidParameterError

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 13, 37, 5, tzinfo=UTC)


@pytest.mark.parametrize("raw,want", [
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=UTC)),
    ("2026-11-01T10:00:00+02:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ("2026-11-01T10:00:00 02:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),  # '+' unencoded
    ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),  # naive = UTC
])
def test_parse_instant(raw, want):
    assert p.parse_instant(raw, "from") == want


@pytest.mark.parametrize("raw", ["", "tomorrow", "2026-11-31", "1" * 50, "2026-11-01T25:00"])
def test_parse_instant_refuses(raw):
    with pytest.raises(InvalidParameterError) as info:
        p.parse_instant(raw, "to")
    assert info.value.param == "to"


def test_resolve_range_aligns_outward_and_defaults():
    assert p.resolve_range("2026-11-01T10:15:00Z", "2026-11-01T12:00:00Z", step=p.HOUR,
                           default_span=timedelta(days=1), now=NOW) == (
        datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 12, tzinfo=UTC))
    assert p.resolve_range(None, None, step=p.DAY, default_span=timedelta(days=30), now=NOW) == (
        datetime(2026, 10, 29, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
    assert p.resolve_range("2026-11-20T05:00:00Z", None, step=p.HOUR, default_span=timedelta(days=1), now=NOW) == (
        datetime(2026, 11, 20, 5, tzinfo=UTC), datetime(2026, 11, 28, 14, tzinfo=UTC))
    with pytest.raises(InvalidParameterError) as info:
        p.resolve_range("2026-11-02", "2026-11-02", step=p.DAY, default_span=timedelta(days=1), now=NOW)
    assert info.value.param == "from"


def test_cost_range_defaults_to_month_to_date():
    assert p.cost_range(None, None, now=NOW) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
    assert p.cost_range("2026-11-03T05:00:00Z", None, now=NOW) == (
        datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))


def test_values_and_choices():
    assert p.split_values(["a,b", "c", "a"], "model") == ("a", "b", "c")
    assert p.split_values(["x, y"], "app", commas=False) == ("x, y",)
    assert p.choices(["Model,provider"], "group_by", p.USAGE_GROUPS) == ("model", "provider")
    key = uuid.uuid4()
    assert p.uuids([str(key)], "api_key_id") == (key,)
    for call in (lambda: p.split_values(["a,,b"], "model"), lambda: p.choices(["day"], "group_by", p.USAGE_GROUPS),
                 lambda: p.uuids(["nope"], "api_key_id"), lambda: p.split_values([str(i) for i in range(101)], "app")):
        with pytest.raises(InvalidParameterError):
            call()


def test_trend():
    t = trend(120.0, 100.0)
    assert (t.delta, t.pct_change) == (pytest.approx(20.0), pytest.approx(20.0))
    assert trend(5, 0).pct_change is None and trend(5, 0).delta == 5
    assert trend(None, 3).delta is None and trend(3, None).pct_change is None


def test_trends_of_a_model_absent_before():
    figures = PerformanceFigures(
        requests=10, errors=1, cancelled=0, fallbacks=0, streamed=0, prompt_tokens=1, completion_tokens=1,
        reasoning_tokens=0, cost_usd=0, cost_estimated_usd=0, spend_usd=0, cost_unknown=0, latency_count=9,
        p50_latency_ms=100.0, p95_latency_ms=200.0, p99_latency_ms=250.0, ttft_count=0, p50_ttft_ms=None,
        p95_ttft_ms=None, p99_ttft_ms=None, timed_completion_tokens=0, generation_ms=0,
    )
    out = trends(figures, None)
    assert out["requests"].previous == 0 and out["requests"].delta == 10 and out["requests"].pct_change is None
    assert out["p50_latency_ms"].delta is None and out["error_rate"].current == pytest.approx(0.1)
    assert figures.throughput_tps is None and figures.uptime == pytest.approx(0.9)


def test_sql_builders_bind_every_value():
    evil = "x'); DROP TABLE usage_ledger; --"
    query = UsageQuery(p.Bucket.WEEK, ("model", "key"), NOW, NOW + p.DAY,
                       UsageFilter(models=(evil,), apps=(evil,), statuses=("ok",)))
    sql, params = usage_sql(query)
    assert evil not in sql and params["models"] == [evil] and params["apps"] == [evil]
    assert "FROM mv_usage_daily" in sql and "GROUP BY week_start, model_used, api_key_id" in sql
    sql, params = performance_sql(PerformanceQuery("hour", True, (evil,), (evil,)))
    assert evil not in sql and params["models"] == [evil] and params["current"] == "last_hour"
