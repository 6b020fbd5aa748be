"""The admin paths: the proxy path with the admin token, routing/recommend, and the CRUD of
routing strategies (validated; built-ins protected; a change is live at once)."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.support import ADMIN, ADMIN_TOKEN, A, B, C, rows_for

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MESSAGES = [{"role": "user", "content": "hi"}]


def test_admin_proxy_path(gw_url, gw_engine) -> None:
    response = httpx.post(f"{gw_url}{ADMIN}/proxy/chat/completions", json={"model": A, "messages": MESSAGES},
                          headers=AUTH, timeout=30)
    assert response.status_code == 200 and response.json()["model"] == A
    row, decision = rows_for(gw_engine, response.headers["x-request-id"])
    assert row["api_key_id"] is None and decision["api_key_id"] is None and row["status"] == "ok"
    wrong = httpx.post(f"{gw_url}{ADMIN}/proxy/chat/completions", json={"model": A, "messages": MESSAGES},
                       headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_admin_token"


def test_recommend_returns_the_decision_without_calling_upstream(gw_url) -> None:
    body = {"model": "minerva/cheapest", "messages": MESSAGES, "max_tokens": 100,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}
    response = httpx.post(f"{gw_url}{ADMIN}/routing/recommend", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["strategy"] == "cheapest" and decision["selected_model"]
    assert isinstance(decision["estimated_cost"], str)
    assert decision["reasoning"]["entries"][0]["verdict"] == "chosen"
    assert isinstance(decision["confidence_score"], float)
    assert httpx.post(f"{gw_url}{ADMIN}/routing/recommend", json=body).status_code == 401


def _strategies(url: str, method: str = "GET", path: str = "", **kwargs) -> httpx.Response:
    return httpx.request(method, f"{url}{ADMIN}/routing/strategies{path}", headers=AUTH, timeout=30, **kwargs)


def test_strategy_crud(gw_url, api_key) -> None:
    _strategies(gw_url, "DELETE", "/crud-test")
    names = [s["name"] for s in _strategies(gw_url).json()["data"]]
    assert {"cheapest", "fastest", "balanced", "quality"} <= set(names)

    created = _strategies(gw_url, "POST", json={
        "name": "crud-test", "alias": "team/crud-test", "kind": "custom",
        "weights": {"cost": 0.7, "latency": 0.1, "quality": 0.2}, "fallback_chain": [B, C],
        "requirements": {"supports_tools": True}, "description": "test"})
    assert created.status_code == 201, created.text
    assert created.json()["alias"] == "team/crud-test" and created.json()["version"] == 1
    # live at once, by its alias
    chat = httpx.post(f"{gw_url}/v1/chat/completions", json={"model": "team/crud-test", "messages": MESSAGES},
                      headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    assert chat.status_code == 200, chat.text

    updated = _strategies(gw_url, "PATCH", "/crud-test", json={"fallback_chain": [C], "kind": "cheapest"})
    assert updated.status_code == 200 and updated.json()["fallback_chain"] == [C]
    assert updated.json()["version"] == 2 and updated.json()["kind"] == "cheapest"
    assert _strategies(gw_url, "POST", json={"name": "crud-test"}).status_code == 409
    assert _strategies(gw_url, "DELETE", "/crud-test").status_code == 204
    assert _strategies(gw_url, "GET", "/crud-test").status_code == 404
    gone = httpx.post(f"{gw_url}/v1/chat/completions", json={"model": "team/crud-test", "messages": MESSAGES},
                      headers={"Authorization": f"Bearer {api_key}"})
    assert gone.status_code == 404


@pytest.mark.parametrize(("body", "param"), [
    ({"name": "Bad Name"}, "name"),
    ({"name": "ok-name", "kind": "smartest"}, "kind"),
    ({"name": "ok-name", "kind": "custom", "weights": {"cost": -1}}, "weights"),
    ({"name": "ok-name", "kind": "custom", "weights": {"cost": "much"}}, "weights"),
    ({"name": "ok-name", "fallback_chain": ["nobody/nothing"]}, "fallback_chain"),
    ({"name": "ok-name", "alias": "NoSlash"}, "alias"),
    ({"name": "ok-name", "alias": "minerva/auto"}, "alias"),
    ({"name": "ok-name", "requirements": {"typo_key": True}}, "requirements"),
    ({"name": "ok-name", "colour": "blue"}, "colour"),
])
def test_strategy_validation(gw_url, body, param) -> None:
    response = _strategies(gw_url, "POST", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_builtin_strategies_cannot_be_deleted(gw_url) -> None:
    response = _strategies(gw_url, "DELETE", "/cheapest")
    assert response.status_code == 409 and response.json()["error"]["code"] == "builtin_strategy"
