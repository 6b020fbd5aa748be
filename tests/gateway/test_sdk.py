"""The unchanged OpenAI Python SDK against the gateway (real uvicorn, real emulator upstream,
real PostgreSQL): chat, streaming with include_usage, tools, structured output, models."""

from __future__ import annotations

from decimal import Decimal

import httpx
import openai
import pytest

from tests.gateway import support
from tests.gateway.support import A, rows_for


@pytest.fixture()
def client(gw_url: str, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw_url}/v1", api_key=api_key, max_retries=0, timeout=30)


def test_chat_completion_and_its_ledger_rows(client: openai.OpenAI, gw_engine, gw_url, api_key) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=A, messages=[{"role": "user", "content": "Say hello"}], max_tokens=50,
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.model == A
    request_id = raw.headers["x-request-id"]
    row, decision = rows_for(gw_engine, request_id)
    assert row["status"] == "ok" and row["model_used"] == A and row["fallback_depth"] == 0
    assert row["prompt_tokens"] == completion.usage.prompt_tokens
    assert row["completion_tokens"] == completion.usage.completion_tokens
    assert row["cost_source"] == "response" and row["cost_usd"] > 0
    assert row["cost_estimated_usd"] is not None
    assert row["generation_id"] == completion.id
    assert decision["selected_model"] == A and decision["outcome"] == "ok"
    assert [a["model"] for a in decision["attempts"]] == [A]


def test_cost_usd_is_the_upstream_usage_cost_exactly(gw_engine, gw_url, api_key) -> None:
    response = httpx.post(f"{gw_url}/v1/chat/completions", headers={"Authorization": f"Bearer {api_key}"},
                          json={"model": A, "messages": [{"role": "user", "content": "exact cost please"}]},
                          timeout=30)
    assert response.status_code == 200
    usage = response.json(parse_float=Decimal)["usage"]
    row, _ = rows_for(gw_engine, response.headers["x-request-id"])
    assert row["cost_usd"] == usage["cost"]
    assert row["cost_estimated_usd"] == usage["cost"]  # our prices = the emulator's prices


def test_streaming_with_include_usage(client: openai.OpenAI, gw_engine) -> None:
    stream = client.chat.completions.with_raw_response.create(
        model=A, messages=[{"role": "user", "content": "Count to five"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1
    row, decision = rows_for(gw_engine, stream.headers["x-request-id"])
    assert row["streamed"] is True and row["status"] == "ok"
    assert row["completion_tokens"] == usage_chunks[0].usage.completion_tokens
    assert row["ttft_ms"] is not None and row["finish_reason"]
    assert decision["outcome"] == "ok"


def test_streaming_without_include_usage_hides_the_usage_chunk(client: openai.OpenAI, gw_engine) -> None:
    stream = client.chat.completions.with_raw_response.create(
        model=A, messages=[{"role": "user", "content": "Count to three"}], stream=True,
    )
    chunks = list(stream.parse())
    assert chunks and all(c.usage is None for c in chunks)
    row, _ = rows_for(gw_engine, stream.headers["x-request-id"])
    assert row["completion_tokens"] > 0 and row["cost_usd"] is not None  # the ledger still has it


def test_tools(client: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    completion = client.chat.completions.create(
        model=A, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=tools, tool_choice="required",
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"


def test_structured_output(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"], "additionalProperties": False}
    completion = client.chat.completions.create(
        model=A, messages=[{"role": "user", "content": "A person"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": schema}},
    )
    import json

    data = json.loads(completion.choices[0].message.content)
    assert set(data) == {"name", "age"}


def test_strategy_alias_and_default(client: openai.OpenAI, gw_engine) -> None:
    cheapest = client.chat.completions.with_raw_response.create(
        model="minerva/cheapest", messages=[{"role": "user", "content": "hi"}])
    assert cheapest.parse().choices
    row, decision = rows_for(gw_engine, cheapest.headers["x-request-id"])
    assert row["model_requested"] == "minerva/cheapest" and decision["strategy"] == "cheapest"
    auto = client.chat.completions.with_raw_response.create(
        model="minerva/auto", messages=[{"role": "user", "content": "hi"}])
    _, decision = rows_for(gw_engine, auto.headers["x-request-id"])
    assert decision["strategy"] == support.CHAIN_STRATEGY  # the key's default strategy


def test_models_lists_catalog_and_aliases(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "minerva/auto" in ids and "minerva/cheapest" in ids and A in ids
    assert ids.index("minerva/auto") == 0
