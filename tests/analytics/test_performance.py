"""analytics/performance and load_model_health against figures computed from the rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from minerva_core.analytics import load_model_health
from minerva_core.routing.model import ModelHealth
from tests.analytics import expected
from tests.analytics.conftest import get
from tests.analytics.ledger_data import EVIL_MODEL

LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}
FLOATS = ("error_rate", "fallback_rate", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "p50_ttft_ms",
          "p95_ttft_ms", "p99_ttft_ms", "throughput_tps")


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_figures(got: dict | None, want: dict | None) -> None:
    if want is None:
        assert got is None
        return
    for name in ("requests", "errors", "cancelled", "prompt_tokens", "completion_tokens"):
        assert got[name] == want[name], name
    for name in FLOATS:
        assert got[name] == (None if want[name] is None else pytest.approx(want[name], rel=1e-9)), name
    for name in ("cost_usd", "spend_usd"):
        assert Decimal(got[name]) == want[name], name
    assert got["uptime"] == pytest.approx(1 - want["error_rate"])


def _trend_ok(row: dict, name: str) -> None:
    t = row["trend"][name]
    if t["current"] is None or t["previous"] is None:
        assert t["delta"] is None and t["pct_change"] is None
        return
    assert t["delta"] == pytest.approx(t["current"] - t["previous"])
    if t["previous"]:
        assert t["pct_change"] == pytest.approx(100 * (t["current"] - t["previous"]) / t["previous"])


@pytest.mark.parametrize("window", ["hour", "day", "week"])
def test_per_model_and_provider(client, seeded, window):
    body = get(client, "analytics/performance", {"window": window})
    start, end = _instant(body["window_start"]), _instant(body["window_end"])
    assert end - start == LENGTH[window]
    assert (_instant(body["previous_start"]), _instant(body["previous_end"])) == (start - LENGTH[window], start)
    assert body["data"]
    pairs = {(r["model_used"] or None, r["provider_name"]) for r in seeded.rows
             if start - LENGTH[window] <= r["created_at"] < end}
    assert {(r["model"], r["provider"]) for r in body["data"]} == pairs
    for row in body["data"]:
        assert_figures(row["current"], expected.performance(seeded.rows, start, end, row["model"], row["provider"]))
        before = expected.performance(seeded.rows, start - LENGTH[window], start, row["model"], row["provider"])
        assert_figures(row["previous"], before)
        for name in ("requests", "p50_latency_ms", "p95_latency_ms", "error_rate"):
            _trend_ok(row, name)
        assert row["trend"]["requests"]["current"] == (row["current"] or {"requests": 0})["requests"]


def test_group_by_model_rolls_providers_together(client, seeded):
    body = get(client, "analytics/performance", {"window": "day", "group_by": "model", "model": EVIL_MODEL})
    start, end = _instant(body["window_start"]), _instant(body["window_end"])
    assert [r["model"] for r in body["data"]] == [EVIL_MODEL]
    row = body["data"][0]
    assert row["provider"] is None
    assert_figures(row["current"], expected.performance(seeded.rows, start, end, EVIL_MODEL))
    assert_figures(row["previous"], expected.performance(seeded.rows, start - timedelta(days=1), start, EVIL_MODEL))


def test_filters(client, seeded):
    body = get(client, "analytics/performance", [("window", "week"), ("model", "openai/gpt-4o"),
                                                 ("provider", "Azure"), ("provider", "OpenAI")])
    assert {(r["model"], r["provider"]) for r in body["data"]} == {("openai/gpt-4o", "Azure"), ("openai/gpt-4o", "OpenAI")}
    body = get(client, "analytics/performance", {"group_by": "model", "provider": "Azure"}, status=400)
    assert body["error"]["param"] == "provider"


def test_model_health(seeded):
    with seeded.engine.connect() as conn:
        health = load_model_health(conn)
        strict = load_model_health(conn, min_requests=10_000)
        end = conn.execute(
            text("SELECT window_end FROM mv_model_performance WHERE window_name = 'last_hour' LIMIT 1")
        ).scalar_one()
    models = {r["model_used"] for r in seeded.rows if r["model_used"] and end - timedelta(days=1) <= r["created_at"] < end}
    assert set(health) == models == set(strict)
    for model, figures in health.items():
        ModelHealth(**figures)  # the routing engine's shape, as it is
        hour = expected.performance(seeded.rows, end - timedelta(hours=1), end, model)
        day = expected.performance(seeded.rows, end - timedelta(days=1), end, model)
        chosen = hour if hour and hour["requests"] >= 20 else day
        assert figures["requests"] == chosen["requests"]
        assert figures["p50_latency_ms"] == pytest.approx(chosen["p50_latency_ms"])
        assert figures["p95_latency_ms"] == pytest.approx(chosen["p95_latency_ms"])
        assert figures["ttft_ms"] == pytest.approx(chosen["p50_ttft_ms"])
        assert figures["error_rate"] == pytest.approx(chosen["error_rate"])
        assert figures["uptime"] == pytest.approx(1 - chosen["error_rate"])
        assert figures["throughput_tps"] == pytest.approx(chosen["throughput_tps"])
        assert strict[model]["requests"] == day["requests"]  # too few in the hour: the day speaks
    assert any(health[m]["requests"] != strict[m]["requests"] for m in health), "some model must use its last hour"
