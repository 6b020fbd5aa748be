"""Bad input on the real proxy (uvicorn over loopback, real PostgreSQL, emulator upstream):
every case is answered with a 4xx and an OpenAI-style error body, and none reaches the
upstream or the database as anything but data."""

from __future__ import annotations

import http.client
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.hostile.conftest import ADMIN, ADMIN_TOKEN, Proxy

CHAT = "/v1/chat/completions"
OK_MESSAGES = [{"role": "user", "content": "hi"}]
SQL_TRICKS = ["' OR '1'='1", "x'; DROP TABLE usage_ledger; --", "%' UNION SELECT key_hash FROM api_keys --",
              "\\'; SELECT pg_sleep(5); --", "$$; DELETE FROM api_keys; $$"]


def assert_openai_error(response: httpx.Response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert "code" in error and "param" in error
    if code is not None:
        assert error["code"] == code, error
    return error


@pytest.fixture(scope="module")
def client(proxy: Proxy) -> Any:
    with httpx.Client(base_url=proxy.url, timeout=30) as c:
        yield c


@pytest.mark.parametrize(("raw", "param"), [
    (b"{not json", None),
    (b"", None),
    (b"\xff\xfe\x00garbage", None),
    (b'{"messages": [{"role": "user", "content": "hi"}]', None),        # truncated
    (b"[]", "body"),
    (b'"just a string"', "body"),
    (b"null", "body"),
    (b'{"messages": "hello"}', "messages"),
    (b'{"messages": []}', "messages"),
    (b'{"messages": [{"role": "wizard", "content": "hi"}]}', "messages[0].role"),
    (b'{"messages": [{"role": "user", "content": 42}]}', "messages[0].content"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "model": 7}', "model"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "model": "   "}', "model"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', "temperature"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "temperature": 1e308}', "temperature"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}', "stream"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "models": [1, 2]}', "models"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "provider": "openai"}', "provider"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "stop": [1]}', "stop"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": -1}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1.5}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": true}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 999999999999}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": -5}', "max_completion_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 99999999999999999999999999}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": NaN}', None),
])
@pytest.mark.parametrize("path", [CHAT, f"{ADMIN}/proxy/chat/completions", f"{ADMIN}/routing/recommend"])
def test_malformed_chat_bodies_are_400_naming_the_parameter(client: httpx.Client, key_headers: dict,
                                                            admin_headers: dict, path: str, raw: bytes,
                                                            param: str | None) -> None:
    headers = {**(key_headers if path == CHAT else admin_headers), "content-type": "application/json"}
    error = assert_openai_error(client.post(path, content=raw, headers=headers), 400)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_unknown_models_are_refused_before_any_upstream_call(client: httpx.Client, key_headers: dict) -> None:
    for body in ({"model": "nobody/no-such-model", "messages": OK_MESSAGES},
                 {"models": ["nobody/a", "nobody/b"], "messages": OK_MESSAGES},
                 {"model": "minerva/no-such-strategy", "messages": OK_MESSAGES}):
        response = client.post(CHAT, json=body, headers=key_headers)
        error = assert_openai_error(response, (400, 404))
        assert error["param"] == "model" or error["code"] in ("model_not_found", "no_route"), error
        assert "x-generation-id" not in response.headers  # nothing was generated upstream


@pytest.mark.parametrize("path", [CHAT, f"{ADMIN}/proxy/chat/completions", f"{ADMIN}/routing/strategies"])
def test_bodies_over_the_size_limit_are_413(proxy: Proxy, client: httpx.Client, key_headers: dict,
                                            admin_headers: dict, path: str) -> None:
    limit = proxy.app.state.gateway.config.max_body_bytes
    headers = key_headers if path == CHAT else admin_headers
    big = b'{"messages": [{"role": "user", "content": "' + b"a" * (limit + 10) + b'"}]}'
    # Declared with Content-Length, and streamed in chunks without one.
    assert_openai_error(client.post(path, content=big, headers=headers), 413, "payload_too_large")
    chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))
    assert_openai_error(client.post(path, content=chunks, headers=headers), 413, "payload_too_large")
    # A body just under the limit is read (and judged on its content).
    small = {"messages": [{"role": "user", "content": "a" * (limit // 2)}], "model": "nobody/x"}
    assert client.post(path, json=small, headers=headers).status_code != 413


@pytest.mark.parametrize("path", [
    "/v1/../api/platform/ai-management/openrouter/routing/strategies",
    "/v1/%2e%2e/api/platform/ai-management/openrouter/routing/strategies",
    "/v1/chat/completions/../../../etc/passwd",
    "/v1/models%00",
    "/v1/models/..%2f..%2fmetrics",
    f"{ADMIN}/routing/strategies/..%2F..%2Fprovider%2Fconfigure",
    f"{ADMIN}/routing/strategies/%00",
    f"{ADMIN}/routing/strategies/balanced%00",
    f"{ADMIN}/routing/strategies/{'x' * 5000}",
    f"{ADMIN}/models/sync/not-a-uuid",
    f"{ADMIN}/models/sync/..%2F..%2Fprovider%2Fconfigure",
    f"{ADMIN}/migration/features/%2e%2e%2f%2e%2e",
    "//v1//models",
    "/V1/MODELS",
])
def test_path_tricks_are_4xx_and_never_reach_another_route(proxy: Proxy, virtual_key: str, path: str) -> None:
    """Sent byte for byte (no client-side normalisation of dot segments): with a virtual key
    and with the admin token, a tricky path is a 4xx error body, never another route's 200."""
    for token in (virtual_key, ADMIN_TOKEN):
        status, body = raw_get(proxy.url, path, token)
        assert 400 <= status < 500, (path, status, body[:300])
        error = json.loads(body)["error"]
        assert error["message"] and error["type"] and "code" in error


def raw_get(base_url: str, path: str, token: str) -> tuple[int, bytes]:
    url = httpx.URL(base_url)
    conn = http.client.HTTPConnection(url.host, url.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {token}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("trick", SQL_TRICKS)
def test_sql_metacharacters_in_filters_are_plain_data(proxy: Proxy, client: httpx.Client, admin_headers: dict,
                                                      trick: str) -> None:
    before = _table_counts(proxy)
    answers = [
        client.get(f"{ADMIN}/analytics/usage", params={"model": trick, "app": trick, "group_by": "model"},
                   headers=admin_headers),
        client.get(f"{ADMIN}/analytics/usage", params={"from": trick}, headers=admin_headers),
        client.get(f"{ADMIN}/analytics/performance", params={"model": trick, "provider": trick},
                   headers=admin_headers),
        client.get(f"{ADMIN}/analytics/costs", params={"from": trick, "to": trick}, headers=admin_headers),
        client.get(f"{ADMIN}/models/discover", params={"q": trick, "provider": trick, "sort": trick},
                   headers=admin_headers),
        client.get(f"{ADMIN}/routing/strategies/{httpx.URL(path=trick).path}", headers=admin_headers),
        client.get(f"{ADMIN}/migration/audit", params={"entity": trick, "entity_type": trick},
                   headers=admin_headers),
        client.post(CHAT, json={"model": trick, "messages": OK_MESSAGES},
                    headers={"Authorization": "Bearer " + trick}),
    ]
    for response in answers:
        assert response.status_code < 500, (response.request.url, response.status_code, response.text[:300])
        if response.status_code >= 400:
            assert_openai_error(response, response.status_code)
        else:
            assert response.json() is not None
    # A filter with a quote matches nothing (it is a value, not SQL) and nothing was changed.
    discover = client.get(f"{ADMIN}/models/discover", params={"q": trick}, headers=admin_headers)
    assert discover.status_code == 200 and discover.json()["data"] == []
    assert _table_counts(proxy) == before


def _table_counts(proxy: Proxy) -> dict[str, int]:
    with proxy.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("api_keys", "ai_models", "routing_strategies")}
