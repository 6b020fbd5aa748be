"""Bad input answers with OpenAI-style bodies and the right status, before any upstream call
and without a ledger row."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import text

from minerva_core.virtual_keys import revoke_key
from tests.gateway.support import A, B, wait_for

MESSAGES = [{"role": "user", "content": "hi"}]


def _assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code", "param"} and error["message"]
    if code is not None:
        assert error["code"] == code
    return error


@pytest.mark.parametrize(("body", "param"), [
    ({"model": A, "messages": []}, "messages"),
    ({"model": A}, "messages"),
    ({"model": A, "messages": "hi"}, "messages"),
    ({"model": A, "messages": [{"content": "no role"}]}, "messages[0].role"),
    ({"model": A, "messages": MESSAGES, "max_tokens": -5}, "max_tokens"),
    ({"model": A, "messages": MESSAGES, "max_tokens": 0}, "max_tokens"),
    ({"model": A, "messages": MESSAGES, "max_tokens": 10**9}, "max_tokens"),
    ({"model": A, "messages": MESSAGES, "max_tokens": "100"}, "max_tokens"),
    ({"model": A, "messages": MESSAGES, "temperature": "hot"}, "temperature"),
    ({"model": A, "messages": MESSAGES, "stream": "yes"}, "stream"),
    ({"model": 42, "messages": MESSAGES}, "model"),
    ({"model": A, "messages": MESSAGES, "tools": {"not": "a list"}}, "tools"),
    ([1, 2, 3], "body"),
])
def test_bad_bodies_are_400(gw_url, api_key, body, param) -> None:
    response = httpx.post(f"{gw_url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {api_key}"})
    error = _assert_openai_error(response, 400)
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_invalid_json_is_400(gw_url, api_key) -> None:
    response = httpx.post(f"{gw_url}/v1/chat/completions", content=b'{"model": ',
                          headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
    _assert_openai_error(response, 400, "invalid_json")


def test_keys(gw_url, make_key, gw_engine, gw_app) -> None:
    body = {"model": A, "messages": MESSAGES}
    url = f"{gw_url}/v1/chat/completions"
    missing = httpx.post(url, json=body)
    _assert_openai_error(missing, 401, "missing_api_key")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    _assert_openai_error(httpx.post(url, json=body, headers={"Authorization": "Bearer mk-unknown"}), 401,
                         "invalid_api_key")
    key, key_id = make_key("to-revoke")
    with gw_engine.begin() as conn:
        revoke_key(conn, key_id)
    wait_for(lambda: httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"}).status_code == 401)
    _assert_openai_error(httpx.get(f"{gw_url}/v1/models", headers={"Authorization": f"Bearer {key}"}), 401,
                         "revoked_api_key")


def test_allowed_models(gw_url, make_key) -> None:
    key, _ = make_key("only-b", allowed_models=[B])
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{gw_url}/v1/chat/completions"
    _assert_openai_error(httpx.post(url, json={"model": A, "messages": MESSAGES}, headers=headers), 403,
                         "model_not_allowed")
    assert httpx.post(url, json={"model": B, "messages": MESSAGES}, headers=headers, timeout=30).status_code == 200
    routed = httpx.post(url, json={"model": "minerva/cheapest", "messages": MESSAGES}, headers=headers, timeout=30)
    assert routed.status_code == 200 and routed.json()["model"] == B  # routing only over the allowed models
    ids = [m["id"] for m in httpx.get(f"{gw_url}/v1/models", headers=headers).json()["data"]]
    assert B in ids and A not in ids and "minerva/cheapest" in ids


def test_unknown_model_is_404(gw_url, api_key) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    for model in ("nobody/no-such-model", "minerva/no-such-strategy"):
        response = httpx.post(f"{gw_url}/v1/chat/completions", json={"model": model, "messages": MESSAGES},
                              headers=headers)
        error = _assert_openai_error(response, 404, "model_not_found")
        assert error["param"] == "model"


def test_oversized_body_is_413(gw_url, api_key) -> None:
    big = "x" * (2 * 1024 * 1024 + 10)
    response = httpx.post(f"{gw_url}/v1/chat/completions", json={"model": A, "messages": [{"role": "user", "content": big}]},
                          headers={"Authorization": f"Bearer {api_key}"})
    _assert_openai_error(response, 413, "payload_too_large")


def test_rejections_before_admission_write_no_ledger_rows(gw_url, api_key, gw_engine) -> None:
    with gw_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM usage_ledger")).scalar()
    headers = {"Authorization": f"Bearer {api_key}"}
    httpx.post(f"{gw_url}/v1/chat/completions", json={"model": A, "messages": []}, headers=headers)
    httpx.post(f"{gw_url}/v1/chat/completions", json={"model": "x/y", "messages": MESSAGES}, headers=headers)
    httpx.post(f"{gw_url}/v1/chat/completions", json={"model": A, "messages": MESSAGES})
    time.sleep(0.5)
    with gw_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM usage_ledger")).scalar() == before


def test_metrics_exposes_the_series(gw_url, api_key) -> None:
    httpx.post(f"{gw_url}/v1/chat/completions", json={"model": A, "messages": MESSAGES},
               headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    response = httpx.get(f"{gw_url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    for series in ("minerva_gateway_requests_total", "minerva_gateway_upstream_seconds_bucket",
                   "minerva_gateway_overhead_seconds_bucket", "minerva_gateway_ttft_seconds_bucket",
                   "minerva_gateway_spend_usd_total", "minerva_gateway_spool_rows",
                   "minerva_gateway_snapshot_serial", "minerva_gateway_snapshot_age_seconds",
                   "minerva_gateway_cooldowns_active", "minerva_gateway_upstream_attempts_total"):
        assert series in response.text, series
    assert f'model="{A}"' in response.text
