"""The bill: /generation (404, then the record), /activity, /key and /credits agree exactly."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import API_KEY
from tests.emulator.openapi_spec import assert_valid, response_schema
from tests.support.emulator import arm_fault

RESPONSES = Path(__file__).resolve().parents[1] / "fixtures" / "openrouter" / "responses"
DELAY_MS = 300
EMULATOR_OPTIONS = {"seed": 5, "generation_delay_ms": DELAY_MS, "require_key": API_KEY}
MODEL = "openai/gpt-4.1-mini"


def exact(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def chat(client: httpx.Client, content: str = "Tell me about Venus", **body: Any) -> httpx.Response:
    if "models" not in body:
        body.setdefault("model", MODEL)
    body.setdefault("messages", [{"role": "user", "content": content}])
    return client.post("/chat/completions", json=body)


def wait_generation(client: httpx.Client, generation_id: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/generation", params={"id": generation_id})
        if response.status_code == 200:
            body = exact(response)
            assert_valid(response_schema("/generation"), response.json())
            return body["data"]
        assert response.status_code == 404
        time.sleep(0.05)
    raise AssertionError(f"generation {generation_id} never appeared")


def test_generation_is_404_first_then_the_full_record(client, fresh) -> None:
    response = chat(client)
    finished = time.monotonic()
    completion = exact(response)
    early = client.get("/generation", params={"id": completion["id"]})
    assert early.status_code == 404
    assert_valid(response_schema("/generation", status=404), early.json())
    data = wait_generation(client, completion["id"])
    assert time.monotonic() - finished >= DELAY_MS / 1000 * 0.9
    recorded = json.loads((RESPONSES / "derived-generation-response-2026-02-24.json").read_text())["data"]
    assert set(recorded) <= set(data)
    usage = completion["usage"]
    assert data["id"] == completion["id"]
    assert data["total_cost"] == data["usage"] == usage["cost"]
    assert (data["tokens_prompt"], data["tokens_completion"]) == (usage["prompt_tokens"], usage["completion_tokens"])
    assert data["native_tokens_reasoning"] == usage["completion_tokens_details"]["reasoning_tokens"]
    assert data["model"] == MODEL and data["provider_name"] == completion["provider"]
    assert data["streamed"] is False and data["cancelled"] is False
    assert data["finish_reason"] == completion["choices"][0]["finish_reason"]
    assert data["provider_responses"][-1]["status"] == 200
    assert data["api_type"] == "completions" and data["created_at"].endswith("Z")


def test_streamed_generation_is_recorded_as_streamed(client, fresh) -> None:
    response = chat(client, "stream please", stream=True)
    data = wait_generation(client, response.headers["x-generation-id"])
    assert data["streamed"] is True and data["cancelled"] is False
    assert data["latency"] is not None and data["generation_time"] >= data["latency"]


def test_a_stream_the_client_abandons_is_cancelled_and_billed_for_what_was_sent(client, fresh) -> None:
    headers = {"X-Emulator-Token-Ms": "40", "X-Emulator-Completion-Tokens": "200"}
    body = {"model": MODEL, "messages": [{"role": "user", "content": "long one"}], "stream": True}
    with client.stream("POST", "/chat/completions", json=body, headers=headers) as response:
        generation_id = response.headers["x-generation-id"]
        received = 0
        for line in response.iter_lines():
            received += line.startswith("data: ")
            if received >= 4:
                break
    data = wait_generation(client, generation_id)
    assert data["cancelled"] is True and data["finish_reason"] is None
    assert 0 < data["tokens_completion"] < 200
    prompt_price, completion_price = Decimal("0.0000004"), Decimal("0.0000016")
    assert data["total_cost"] == data["tokens_prompt"] * prompt_price + data["tokens_completion"] * completion_price


def test_unknown_generation_and_missing_id(client) -> None:
    assert client.get("/generation", params={"id": "gen-0-none"}).status_code == 404
    assert client.get("/generation").status_code == 400


def test_activity_usage_sums_equal_the_generations_costs_exactly(client, fresh) -> None:
    requests = [
        dict(content="one"), dict(content="two"), dict(content="three", stream=True),
        dict(content="four", model="anthropic/claude-sonnet-4.5"),
        dict(content="five", model="google/gemini-3.7-flash", reasoning={"effort": "low"}),
        dict(content="six", model="openrouter/auto"),
        dict(content="seven", models=["anthropic/claude-sonnet-4.5", "deepseek/deepseek-v4-pro-0813"]),
        dict(content="eight", model="meta-llama/llama-4-scout", provider={"sort": "throughput"}),
    ]
    ids = []
    for request in requests:
        if "models" in request:  # the first model fails once, the fallback serves
            arm_fault(fresh, "429", model="anthropic/claude-sonnet-4.5", count=1)
        response = chat(client, **request)
        assert response.status_code == 200, response.text
        ids.append(response.headers["x-generation-id"])
    generations = [wait_generation(client, gid) for gid in ids]
    with localcontext(prec=100):
        total = sum((g["total_cost"] for g in generations), Decimal(0))
        activity = exact(client.get("/activity"))
        assert_valid(response_schema("/activity"), client.get("/activity").json())
        rows = activity["data"]
        assert sum((r["usage"] for r in rows), Decimal(0)) == total
    assert sum(r["requests"] for r in rows) == len(requests)
    assert sum(r["prompt_tokens"] for r in rows) == sum(g["tokens_prompt"] for g in generations)
    assert sum(r["completion_tokens"] for r in rows) == sum(g["tokens_completion"] for g in generations)
    assert sum(r["reasoning_tokens"] for r in rows) == sum(g["native_tokens_reasoning"] for g in generations)
    keys = {(r["date"], r["model"], r["endpoint_id"]) for r in rows}
    assert len(keys) == len(rows)
    today = datetime.now(timezone.utc).date().isoformat()
    assert {r["date"] for r in rows} == {today}
    assert exact(client.get("/activity", params={"date": today}))["data"] == rows
    assert client.get("/activity", params={"date": "2020-01-01"}).json()["data"] == []
    assert client.get("/activity", params={"date": "yesterday"}).status_code == 400

    fallback = generations[6]
    assert fallback["model"] == "deepseek/deepseek-v4-pro-0813"
    assert [p["status"] for p in fallback["provider_responses"]] == [429, 200]
    routed = generations[5]
    assert routed["router"] == "openrouter/auto" and routed["model"] != "openrouter/auto"

    key = exact(client.get("/key"))["data"]
    assert_valid(response_schema("/key"), client.get("/key").json())
    assert key["usage"] == key["usage_daily"] == key["usage_monthly"] == total
    assert key["label"].startswith(API_KEY[:12]) and API_KEY not in key["label"]
    credits = exact(client.get("/credits"))["data"]
    assert_valid(response_schema("/credits"), client.get("/credits").json())
    assert credits["total_usage"] == total and credits["total_credits"] == 100


def test_reset_forgets_the_spend(client, fresh) -> None:
    chat(client)
    assert exact(client.get("/credits"))["data"]["total_usage"] > 0
    httpx.post(fresh.removesuffix("/api/v1") + "/__emulator/reset").raise_for_status()
    assert exact(client.get("/credits"))["data"]["total_usage"] == 0
    assert client.get("/activity").json() == {"data": []}


@pytest.mark.parametrize("path", ["/chat/completions", "/generation?id=x", "/activity", "/key", "/credits"])
def test_require_key_rejects_other_and_missing_keys(emulator_url, path) -> None:
    method = "POST" if path.startswith("/chat") else "GET"
    kwargs: dict[str, Any] = {"json": {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}} \
        if method == "POST" else {}
    wrong = httpx.request(method, emulator_url + path, headers={"Authorization": "Bearer sk-or-wrong"}, **kwargs)
    assert wrong.status_code == 401 and wrong.json() == {"error": {"code": 401, "message": "User not found."}}
    missing = httpx.request(method, emulator_url + path, **kwargs)
    assert missing.status_code == 401
    assert_valid(response_schema("/key", status=401), missing.json())
