"""analytics/usage against the same figures computed straight from the inserted ledger rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.analytics import expected
from tests.analytics.conftest import get
from tests.analytics.ledger_data import EVIL_APP, EVIL_MODEL

COUNTS = ("requests", "errors", "cancelled", "timeouts", "rate_limited", "prompt_tokens", "completion_tokens",
          "reasoning_tokens", "cached_tokens", "cache_write_tokens", "total_tokens", "cost_unknown", "fallbacks",
          "streamed")
MONEY = ("cost_usd", "cost_estimated_usd", "spend_usd")
OUT_NAME = {"key": "api_key_id", "app": "app", "model": "model", "provider": "provider", "status": "status"}


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_figures(got: dict, want: dict) -> None:
    for name in COUNTS:
        assert got[name] == want.get(name, 0), name
    for name in MONEY:
        assert isinstance(got[name], str) and Decimal(got[name]) == want.get(name, Decimal(0)), name
    n = want.get("latency_n", 0)
    assert got["avg_latency_ms"] == (pytest.approx(want["latency_sum"] / n) if n else None)
    n = want.get("ttft_n", 0)
    assert got["avg_ttft_ms"] == (pytest.approx(want["ttft_sum"] / n) if n else None)


def check(client, seeded, params: dict, keep=lambda r: True) -> dict:
    body = get(client, "analytics/usage", params)
    group_by = body["group_by"]
    start, end = _instant(body["from"]), _instant(body["to"])
    want = expected.usage(seeded.rows, bucket=body["bucket"], group_by=group_by, start=start, end=end, keep=keep)
    got = {(_instant(r["bucket_start"]), *(r[OUT_NAME[g]] for g in group_by)): r for r in body["data"]}
    assert set(got) == set(want)
    for key, row in got.items():
        assert_figures(row, want[key])
    totals: dict = {}
    for figures in want.values():
        for name, value in figures.items():
            totals[name] = totals.get(name, 0) + value
    assert_figures(body["totals"], totals)
    return body


def test_daily_series_over_all_history(client, seeded):
    body = check(client, seeded, {"bucket": "day", "from": (seeded.now - timedelta(days=45)).date().isoformat(),
                                  "to": (seeded.now + timedelta(days=1)).isoformat()})
    assert body["totals"]["requests"] == len(seeded.rows)
    assert len(body["data"]) >= 40


@pytest.mark.parametrize("bucket,params,source", [
    ("day", {}, "mv_usage_daily_by_key"),
    ("week", {"group_by": "key,app,status"}, "mv_usage_daily_by_key"),
    ("day", {"group_by": "provider", "status": "error"}, "mv_usage_daily_by_model"),
    ("month", {"group_by": "model", "app": "web"}, "mv_usage_daily"),
    ("hour", {"group_by": "status", "api_key_id": "00000000-0000-0000-0000-00000000000a"}, "mv_usage_hourly_by_key"),
    ("hour", {"model": "openai/gpt-4o"}, "mv_usage_hourly_by_model"),
    ("hour", {"group_by": "key,provider"}, "mv_usage_hourly"),
])
def test_the_smallest_view_that_holds_the_dimensions_answers(client, seeded, bucket, params, source):
    span = timedelta(hours=30) if bucket == "hour" else timedelta(days=40)
    query = {"bucket": bucket, "from": (seeded.now - span).isoformat(), "to": seeded.now.isoformat(), **params}
    body = get(client, "analytics/usage", query)
    assert body["source"] == source


def test_every_view_of_a_family_gives_the_same_totals(client, seeded):
    for bucket, span in (("hour", timedelta(hours=30)), ("day", timedelta(days=41))):
        base = {"bucket": bucket, "from": (seeded.now - span).isoformat(), "to": seeded.now.isoformat()}
        answers = {get(client, "analytics/usage", {**base, "group_by": g})["source"]:
                   get(client, "analytics/usage", {**base, "group_by": g})["totals"]
                   for g in ("status", "provider", "key,model")}
        assert len(answers) == 3 and len({str(sorted(t.items())) for t in answers.values()}) == 1


@pytest.mark.parametrize("bucket,group_by", [
    ("hour", "model,provider"),
    ("hour", "key,app,model,provider,status"),
    ("day", "model"),
    ("week", "key"),
    ("month", "app,status"),
])
def test_buckets_and_groupings(client, seeded, bucket, group_by):
    span = timedelta(hours=30) if bucket == "hour" else timedelta(days=40)
    body = check(client, seeded, {"bucket": bucket, "group_by": group_by,
                                  "from": (seeded.now - span).isoformat(), "to": seeded.now.isoformat()})
    assert body["data"], "the case must exercise rows"
    if "key" in group_by:
        names = {r["api_key_id"]: r["key_name"] for r in body["data"]}
        assert names[str(seeded.keys.day_budget)] == "day-key"
        assert names.get(None, None) is None


def test_repeated_group_by_and_filters_are_plain_values(client, seeded):
    keep = lambda r: (r["model_used"] in ("openai/gpt-4o", EVIL_MODEL) and r["app"] == EVIL_APP  # noqa: E731
                      and expected.status_class(r["status"]) in ("ok", "error"))
    body = check(client, seeded, [
        ("bucket", "day"), ("group_by", "provider"), ("group_by", "model"),
        ("model", "openai/gpt-4o"), ("model", EVIL_MODEL), ("app", EVIL_APP), ("status", "ok,error"),
        ("from", (seeded.now - timedelta(days=41)).date().isoformat()),
    ], keep=keep)
    assert body["group_by"] == ["provider", "model"]
    assert body["data"] and any(r["model"] == EVIL_MODEL for r in body["data"])
    with seeded.engine.connect() as conn:  # still there
        assert conn.execute(text("SELECT count(*) FROM usage_ledger")).scalar_one() == len(seeded.rows)


def test_key_and_provider_filters(client, seeded):
    key = seeded.keys.month_budget
    keep = lambda r: r["api_key_id"] == key and r["provider_name"] in ("Azure", "Anthropic")  # noqa: E731
    check(client, seeded, {"bucket": "week", "group_by": "provider", "api_key_id": str(key),
                           "provider": "Azure,Anthropic", "from": (seeded.now - timedelta(days=41)).isoformat()},
          keep=keep)


def test_unknown_values_come_back_as_null(client, seeded):
    body = check(client, seeded, {"bucket": "month", "group_by": "key,app,model,provider",
                                  "from": (seeded.now - timedelta(days=41)).isoformat()})
    for field in ("api_key_id", "app", "model", "provider"):
        assert any(r[field] is None for r in body["data"]), field
    assert not any(r["app"] == "" or r["model"] == "" for r in body["data"])


def test_hourly_window_is_what_the_view_holds(client, seeded):
    since = _instant(get(client, "analytics/usage", {"bucket": "hour"})["hourly_since"])
    assert since == (seeded.now - timedelta(days=35)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert any(r["created_at"] < since for r in seeded.rows), "the data must reach past the window"
    check(client, seeded, {"bucket": "hour", "from": since.isoformat(), "to": seeded.now.isoformat()})
    with seeded.engine.connect() as conn:
        oldest = conn.execute(text("SELECT min(bucket_start) FROM mv_usage_hourly")).scalar_one()
    assert oldest >= since
    body = get(client, "analytics/usage", {"bucket": "hour", "from": (since - timedelta(hours=1)).isoformat()},
               status=400)
    assert body["error"]["param"] == "from" and "bucket=day" in body["error"]["message"]


def test_range_is_aligned_and_echoed(client, seeded):
    body = get(client, "analytics/usage", {"bucket": "hour", "from": "2030-01-01T10:15:00+02:00",
                                           "to": "2030-01-01T12:00:01Z"})
    assert (body["from"], body["to"]) == ("2030-01-01T08:00:00Z", "2030-01-01T13:00:00Z")
    assert body["data"] == [] and body["totals"]["requests"] == 0 and body["totals"]["cost_usd"] == "0"
    body = get(client, "analytics/usage", {"bucket": "week", "from": "2030-01-01T10:00:00Z", "to": "2030-01-02"})
    assert (body["from"], body["to"]) == ("2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z")


def test_defaults(client, seeded):
    body = get(client, "analytics/usage")
    assert body["bucket"] == "day" and body["group_by"] == []
    start, end = _instant(body["from"]), _instant(body["to"])
    assert end - start == timedelta(days=31) or end - start == timedelta(days=30)
    assert end > seeded.now.astimezone(timezone.utc)
