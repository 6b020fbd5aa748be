"""Who may read what: the admin paths refuse anonymous calls and virtual keys; a virtual key
reads only its own figures (GET /v1/key has no parameter that selects another key), and the
analytics that could show another key's usage are admin-only."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.gateway.support import A, wait_for
from tests.hostile.conftest import ADMIN, ADMIN_TOKEN, Proxy, new_key, refresh_views

MESSAGES = [{"role": "user", "content": "hi"}]


def _admin_operations(proxy: Proxy) -> list[tuple[str, str]]:
    """(method, concrete path) of every admin operation the served OpenAPI document lists."""
    document = httpx.get(f"{proxy.url}/openapi.json").json()
    out = []
    for path, item in document["paths"].items():
        if not path.startswith(ADMIN):
            continue
        concrete = re.sub(r"\{job_id\}", str(uuid.uuid4()), path)
        concrete = re.sub(r"\{[a-z_]+\}", "balanced", concrete)
        out += [(method.upper(), concrete) for method in item if method in ("get", "post", "put", "patch", "delete")]
    return out


def _error(response: httpx.Response) -> dict[str, Any]:
    error = response.json()["error"]
    assert error["message"] and error["type"] and "code" in error
    return error


def test_admin_paths_refuse_anonymous_calls_and_virtual_keys(proxy: Proxy, virtual_key: str) -> None:
    operations = _admin_operations(proxy)
    assert len(operations) >= 30  # the FastAPI routers and the gateway's admin routes
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        for method, path in operations:
            for label, headers in (
                ("anonymous", {}),
                ("virtual key", {"Authorization": f"Bearer {virtual_key}"}),
                ("basic scheme", {"Authorization": f"Basic {ADMIN_TOKEN}"}),
                ("bare scheme", {"Authorization": "Bearer"}),
                ("token prefix", {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"}),
            ):
                response = client.request(method, path, headers=headers, json={})
                assert response.status_code in (401, 403), (label, method, path, response.status_code,
                                                            response.text[:300])
                _error(response)
                if response.status_code == 401:
                    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
        # The admin token itself gets through to every one of them (no 401/403).
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for method, path in operations:
            if method == "GET":
                assert client.get(path, headers=admin).status_code not in (401, 403), path


def test_the_admin_token_is_not_a_virtual_key(proxy: Proxy) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for method, path in (("GET", "/v1/models"), ("GET", "/v1/key"), ("POST", "/v1/chat/completions")):
        response = httpx.request(method, f"{proxy.url}{path}", headers=admin, json={"messages": MESSAGES})
        assert response.status_code == 401 and _error(response)["code"] == "invalid_api_key"


def _ledger_spend(proxy: Proxy, key_id: str) -> tuple[int, Decimal]:
    with proxy.engine.connect() as conn:
        row = conn.execute(text("SELECT count(*) AS n, coalesce(sum(coalesce(cost_usd, cost_estimated_usd)), 0) AS s "
                                "FROM usage_ledger WHERE api_key_id = CAST(:k AS uuid)"), {"k": key_id}).one()
    return row.n, Decimal(row.s)


def test_a_virtual_key_reads_its_own_usage_and_never_another_keys(proxy: Proxy) -> None:
    key_a, id_a = new_key(proxy, "team-a", budget_usd=Decimal("5.00"), budget_period="month", rpm_limit=600)
    key_b, id_b = new_key(proxy, "team-b", budget_usd=Decimal("7.00"), budget_period="day", tpm_limit=50000)
    a = {"Authorization": f"Bearer {key_a}"}
    b = {"Authorization": f"Bearer {key_b}"}

    for _ in range(3):
        chat = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": A, "messages": MESSAGES},
                          headers=b, timeout=30)
        assert chat.status_code == 200, chat.text
    wait_for(lambda: _ledger_spend(proxy, id_b)[0] == 3, timeout=20)
    spent_b = _ledger_spend(proxy, id_b)[1]
    assert spent_b > 0
    refresh_views(proxy.engine)

    mine = httpx.get(f"{proxy.url}/v1/key", headers=a)
    assert mine.status_code == 200, mine.text
    data_a = mine.json()["data"]
    assert data_a["name"] == "team-a" and data_a["label"].startswith(key_a[:7]) and key_a not in mine.text
    assert data_a["limit"] == "5.00" and data_a["limit_reset"] == "monthly"
    assert Decimal(data_a["limit_remaining"]) == Decimal("5.00")
    assert data_a["rate_limit"] == {"requests": 600, "tokens": None, "interval": "1m"}
    assert Decimal(data_a["usage"]) == 0 and Decimal(data_a["usage_monthly"]) == 0
    assert data_a["usage_as_of"] is not None

    data_b = httpx.get(f"{proxy.url}/v1/key", headers=b).json()["data"]
    assert data_b["name"] == "team-b" and Decimal(data_b["usage"]) == spent_b == Decimal(data_b["usage_daily"])
    assert data_b["limit_reset"] == "daily"
    # The budget figure is the gateway's live one (memory), settled with the exact charges.
    wait_for(lambda: Decimal(httpx.get(f"{proxy.url}/v1/key", headers=b).json()["data"]["limit_remaining"])
             == Decimal("7.00") - spent_b, timeout=10)

    # Nothing a caller can add selects another key: the answer is the caller's, whatever it asks.
    for params in ({"key_id": id_b}, {"id": id_b}, {"name": "team-b"}, {"api_key": key_b}, {"key": id_b}):
        again = httpx.get(f"{proxy.url}/v1/key", params=params, headers={**a, "X-Api-Key-Id": id_b})
        assert again.status_code == 200 and again.json()["data"]["name"] == "team-a"
        assert Decimal(again.json()["data"]["usage"]) == 0
    for suffix in (f"/{id_b}", f"?key_id={id_b}/.."):
        other = httpx.get(f"{proxy.url}/v1/key{suffix}", headers=a)
        assert other.status_code == 404 or other.json()["data"]["name"] == "team-a"

    # Per-key usage across keys is the analytics API's, and that is admin-only.
    for path in ("/analytics/usage", "/analytics/costs", "/analytics/performance"):
        refused = httpx.get(f"{proxy.url}{ADMIN}{path}", params={"api_key_id": id_b, "group_by": "api_key"},
                            headers=a)
        assert refused.status_code == 401 and "team-b" not in refused.text and str(spent_b) not in refused.text


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer mk-not-a-key"}, {"Authorization": "Token x"}])
def test_v1_key_needs_a_valid_virtual_key(proxy: Proxy, headers: dict[str, str]) -> None:
    response = httpx.get(f"{proxy.url}/v1/key", headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"].lower().startswith("bearer")
    assert _error(response)["type"] == "authentication_error"
