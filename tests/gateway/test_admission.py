"""Admission on the real server: rate limits (429 + Retry-After, or queueing), budgets
(refused before any upstream call, settled exactly after), cooldowns of failing models."""

from __future__ import annotations

import concurrent.futures
import time
from datetime import datetime, timezone
from decimal import Decimal

import httpx
from sqlalchemy import text

from minerva_core.limits import budget_period_key
from tests.gateway import support
from tests.gateway.support import A, B, rows_for, wait_for
from tests.support.emulator import arm_fault, root_url

BODY = {"model": A, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}


def _post(client: httpx.Client, url: str, key: str, body: dict = BODY) -> httpx.Response:
    return client.post(f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})


def _drain(client: httpx.Client, url: str, key: str, limit: int = 400) -> httpx.Response:
    """Send until the key's bucket refuses; return the refusal."""
    for _ in range(limit):
        response = _post(client, url, key)
        if response.status_code != 200:
            return response
    raise AssertionError("the rate limit never refused")


def test_rate_limited_key_gets_429_with_retry_after_and_a_ledger_row(gw_url, make_key, gw_engine) -> None:
    key, key_id = make_key("rpm", rpm_limit=120)
    with httpx.Client(timeout=30) as client:
        refused = _drain(client, gw_url, key)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"  # 0.5 s rounded up to whole seconds
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_rpm"
    row, decision = rows_for(gw_engine, refused.headers["x-request-id"])
    assert row["status"] == "rate_limited" and row["http_status"] == 429 and str(row["api_key_id"]) == key_id
    assert decision["attempts"] == [] and decision["outcome"] == "error"


def test_queued_key_waits_and_succeeds(gw_url, make_key, gw_engine) -> None:
    key, _ = make_key("queued", rpm_limit=120, queue_when_limited=True, max_queue_wait_ms=5000)
    with httpx.Client(timeout=30) as client:
        response, waited = _drain_queued(client, gw_url, key)  # the bucket ran dry: it queued
    assert response.status_code == 200 and 0 < waited <= 0.6  # at most one refill (0.5 s) away
    _, decision = rows_for(gw_engine, response.headers["x-request-id"])
    assert decision["reasoning"]["queued_ms"] == round(waited * 1000)


def test_queue_bound_is_respected(gw_url, make_key, gateway) -> None:
    key, _ = make_key("bounded", rpm_limit=120, queue_when_limited=True, max_queue_wait_ms=5000)
    bound = gateway[1].state.gateway.config.max_queue_waiters
    with httpx.Client(timeout=30) as client:
        _drain_queued(client, gw_url, key)
        with concurrent.futures.ThreadPoolExecutor(bound + 4) as pool:
            statuses = list(pool.map(lambda _: _post(client, gw_url, key).status_code, range(bound + 4)))
    assert statuses.count(429) >= 4
    assert statuses.count(200) >= 1


def _drain_queued(client: httpx.Client, url: str, key: str) -> tuple[httpx.Response, float]:
    """Empty a queueing key's bucket: keep going until a request had to queue (it still
    succeeds; the gateway says so in X-Minerva-Queued-Ms); return it and its wait in s."""
    for _ in range(400):
        response = _post(client, url, key)
        assert response.status_code == 200
        if "x-minerva-queued-ms" in response.headers:
            return response, int(response.headers["x-minerva-queued-ms"]) / 1000
    raise AssertionError("the bucket never ran dry")


def _generations(upstream: str) -> int:
    return httpx.get(f"{root_url(upstream)}/__emulator/health", timeout=5).json()["generations"]


def test_budget_refuses_before_any_upstream_call_and_settles_exactly(gw_url, make_key, gw_engine, gateway,
                                                                     upstream) -> None:
    key, key_id = make_key("budget", budget_usd=Decimal("0.0001"), budget_period="day")
    before = _generations(upstream)
    with httpx.Client(timeout=30) as client:
        refused = _post(client, gw_url, key, {**BODY, "max_tokens": 1000})  # ~$0.0006 estimated
        assert refused.status_code == 402
        assert refused.json()["error"]["code"] == "budget_exceeded"
        assert _generations(upstream) == before  # nothing reached the upstream
        row, decision = rows_for(gw_engine, refused.headers["x-request-id"])
        assert row["status"] == "error" and row["error_type"] == "budget_exceeded" and row["http_status"] == 402
        assert decision["attempts"] == [] and decision["selected_model"] == A

        served = _post(client, gw_url, key)
        assert served.status_code == 200
    cost = Decimal(str(served.json(parse_float=Decimal)["usage"]["cost"]))
    gw = gateway[1].state.gateway
    slot = (key_id, budget_period_key("day", datetime.now(timezone.utc)))
    wait_for(lambda: gw.admission.budgets.spent.get(slot) == cost)
    assert gw.admission.budgets.reserved.get(slot, Decimal(0)) == 0


def test_spend_is_loaded_from_the_ledger_at_start(gw_db_url, gw_engine, upstream, tmp_path) -> None:
    key, key_id = support.new_key(gw_engine, "preloaded", budget_usd=Decimal("0.001"), budget_period="month")
    with gw_engine.begin() as conn:
        conn.execute(text("INSERT INTO usage_ledger (request_id, api_key_id, status, cost_usd, cost_source) "
                          "VALUES ('preloaded-1', :k, 'ok', 0.00099, 'response')"), {"k": key_id})
    app = support.build_app(support.settings_for(gw_db_url, upstream, tmp_path), support.test_config(tmp_path))
    with support.serve(app) as url, httpx.Client(timeout=30) as client:
        response = _post(client, url, key, {**BODY, "max_tokens": 100})  # ~$0.00006 > $0.00001 left
    assert response.status_code == 402


def test_failing_model_cools_down_then_comes_back(gw_db_url, gw_engine, upstream, tmp_path) -> None:
    key = support.new_key(gw_engine, "cooldown")[0]
    config = support.test_config(tmp_path, cooldown_threshold=2, cooldown_s=1.0)
    app = support.build_app(support.settings_for(gw_db_url, upstream, tmp_path), config)
    with support.serve(app) as url, httpx.Client(timeout=30) as client:
        arm_fault(upstream, "503", model=A, count=2)
        for _ in range(2):
            response = _post(client, url, key)
            assert response.status_code == 200 and response.headers["x-minerva-model"] == B
        skipped = _post(client, url, key)  # A is cooling down: not even tried
        assert skipped.status_code == 200 and skipped.headers["x-minerva-model"] == B
        assert "minerva_gateway_cooldowns_active 1.0" in client.get(f"{url}/metrics").text
        time.sleep(1.1)
        back = _post(client, url, key)
        assert back.status_code == 200 and back.headers["x-minerva-model"] == A
    _, decision = rows_for(gw_engine, skipped.headers["x-request-id"])
    assert [a["model"] for a in decision["attempts"]] == [B]
    assert any(e["model"] == A and e["code"] == "cooling_down" for e in decision["reasoning"]["entries"])
