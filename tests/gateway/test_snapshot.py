"""The in-memory snapshot: reloaded on NOTIFY (no restart), never queried per request."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import event, text

from tests.gateway.support import A, wait_for


def test_new_strategy_is_routable_by_alias_within_a_second(gw_url, api_key, gw_engine, gw_app) -> None:
    alias = "team/fresh-cheap"
    with gw_engine.begin() as conn:
        conn.execute(text("DELETE FROM routing_strategies WHERE name = 'fresh-cheap'"))
    body = {"model": alias, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {api_key}"}
    wait_for(lambda: alias not in gw_app.state.gateway.snapshot.aliases)
    assert httpx.post(f"{gw_url}/v1/chat/completions", json=body, headers=headers).status_code == 404
    with gw_engine.begin() as conn:
        conn.execute(text("INSERT INTO routing_strategies (name, alias, kind) VALUES ('fresh-cheap', :a, 'cheapest')"),
                     {"a": alias})
    started = time.perf_counter()
    wait_for(lambda: httpx.post(f"{gw_url}/v1/chat/completions", json=body, headers=headers).status_code == 200,
             timeout=5, interval=0.02)
    # NOTIFY, not the (300 s) version poll: about a second (reload ~0.2 s on an idle machine)
    assert time.perf_counter() - started < 3
    ids = [m["id"] for m in httpx.get(f"{gw_url}/v1/models", headers=headers).json()["data"]]
    assert alias in ids


def test_no_database_query_on_the_request_path(gw_url, api_key, gw_app) -> None:
    gw = gw_app.state.gateway
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    wait_for(lambda: not gw.store._dirty.is_set() and not gw.store._lock.locked())
    event.listen(gw.engine, "before_cursor_execute", count)
    try:
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {api_key}"}) as client:
            for i in range(20):
                body = {"model": A if i % 2 else "minerva/cheapest", "stream": i % 3 == 0,
                        "messages": [{"role": "user", "content": f"request {i}"}]}
                assert client.post(f"{gw_url}/v1/chat/completions", json=body).status_code == 200
            assert client.get(f"{gw_url}/v1/models").status_code == 200
    finally:
        event.remove(gw.engine, "before_cursor_execute", count)
    assert statements == []


FAST_X, SLOW_Y = "qwen/qwen3.6-35b-a3b", "qwen/qwen3.6-27b"  # models no other gateway test sends to


def _traffic(engine, model: str, count: int, latency_ms: int) -> None:
    """``count`` ok ledger rows of ``model`` five minutes ago, each taking ``latency_ms``."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO usage_ledger (request_id, created_at, model_used, provider_name, status, "
                 "prompt_tokens, completion_tokens, latency_ms, ttft_ms) "
                 "SELECT 'health-' || md5(random()::text), now() - interval '5 minutes', :m, 'Emulated', 'ok', "
                 "100, 50, :lat, :lat / 2 FROM generate_series(1, :n)"),
            {"m": model, "n": count, "lat": latency_ms},
        )


def _refresh_health_view(engine) -> None:
    """What the refresh flow does for mv_model_performance: refresh it, record the outcome
    (which also notifies the proxies)."""
    from datetime import datetime, timezone

    from minerva_core import views

    started = datetime.now(timezone.utc)
    with engine.connect() as conn:
        populated = dict(views.materialized_views(conn))["mv_model_performance"]
    outcome = views.refresh_view(engine, "mv_model_performance", populated)
    assert outcome.error is None, outcome.error
    with engine.begin() as conn:
        views.record_refreshes(conn, [outcome], started, None)


def test_routing_follows_the_measured_health_view(gw_url, gw_engine, gw_app, make_key) -> None:
    """minerva/fastest over two models: the one mv_model_performance measures faster is
    chosen, and the choice flips when a refresh of the view says the other is now faster."""
    key, _ = make_key("health", allowed_models=[FAST_X, SLOW_Y])
    body = {"model": "minerva/fastest", "messages": [{"role": "user", "content": "which is faster?"}]}

    def chosen() -> str:
        response = httpx.post(f"{gw_url}/v1/chat/completions", json=body,
                              headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.headers["x-minerva-model"]

    def measured(model: str) -> float | None:
        health = gw_app.state.gateway.snapshot.catalog.health_of(model)
        return None if health is None else health.p50_latency_ms

    _traffic(gw_engine, FAST_X, 30, 300)
    _traffic(gw_engine, SLOW_Y, 30, 3000)
    _refresh_health_view(gw_engine)
    wait_for(lambda: measured(FAST_X) == 300 and measured(SLOW_Y) == 3000)  # NOTIFY: no restart, no poll
    assert chosen() == FAST_X

    _traffic(gw_engine, FAST_X, 70, 9000)  # X's median is now 9 s
    _refresh_health_view(gw_engine)
    wait_for(lambda: measured(FAST_X) == 9000)
    health = gw_app.state.gateway.snapshot.catalog.health_of(FAST_X)
    assert health.requests >= 100 and health.error_rate == 0 and health.uptime == 1
    assert chosen() == SLOW_Y


def test_merge_health_prefers_a_large_enough_measurement() -> None:
    from minerva_core.routing import ModelHealth
    from proxy.gateway.build import MEASURED_SAMPLE, merge_health

    endpoint = ModelHealth(ttft_ms=400.0, throughput_tps=80.0, uptime=0.99, requests=100)
    measured = {"p50_latency_ms": 900.0, "p95_latency_ms": 2000.0, "ttft_ms": 250.0, "error_rate": 0.1,
                "uptime": 0.9, "throughput_tps": None}
    merged = merge_health({"m/a": endpoint, "m/b": endpoint, "m/c": endpoint},
                          {"m/a": {**measured, "requests": MEASURED_SAMPLE},
                           "m/b": {**measured, "requests": MEASURED_SAMPLE - 1},
                           "m/d": {**measured, "requests": 3}})
    # enough requests: measured figures lead, the endpoints fill what was not measured
    assert merged["m/a"] == ModelHealth(900.0, 2000.0, 250.0, 0.1, 0.9, 80.0, MEASURED_SAMPLE)
    # too few: the endpoints' figures lead, the measurement fills what they lack
    assert merged["m/b"] == ModelHealth(900.0, 2000.0, 400.0, 0.1, 0.99, 80.0, 100)
    assert merged["m/c"] == endpoint  # not measured
    assert merged["m/d"] == ModelHealth(**{**measured, "requests": 3})  # measured only
