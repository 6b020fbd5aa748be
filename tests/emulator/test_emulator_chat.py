"""POST /chat/completions over real HTTP: shapes, spec validity, determinism, exact cost."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from minerva_core.pricing import Usage, compute_cost, parse_pricing
from tests.emulator.openapi_spec import assert_valid, component, response_schema
from tests.emulator.sse import parse_sse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openrouter"
RESPONSES = FIXTURES / "responses"
EMULATOR_OPTIONS = {"seed": 42}
MODEL = "openai/gpt-4.1-mini"
HELLO = [{"role": "user", "content": "Hello, how are you today?"}]


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict[str, Any]]:
    every = json.loads((FIXTURES / "models-all-modalities-2026-08-19.json").read_text())["data"]
    return {m["id"]: m for m in every}


def exact(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def expected_cost(catalog: dict, model_id: str, usage: dict) -> Decimal:
    return compute_cost(parse_pricing(catalog[model_id]["pricing"]), Usage.from_openrouter(usage)).total


def chat(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("model", MODEL)
    body.setdefault("messages", HELLO)
    return client.post("/chat/completions", json=body)


def test_non_stream_completion_is_spec_complete_and_shaped_like_the_recording(client, catalog) -> None:
    response = chat(client, max_tokens=50)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.text.startswith("\n") and response.text.lstrip()[0] == "{"  # keep-alive padding
    body = response.json()
    assert_valid(response_schema("/chat/completions", "post"), body)
    assert_valid(component("ChatResult"), body)
    recorded = json.loads((RESPONSES / "ai-sdk-provider-fixture-MjYFGfSpdlk-response.json").read_text())
    assert set(body) == set(recorded) | {"system_fingerprint"}
    assert set(body["choices"][0]) == set(recorded["choices"][0])
    assert set(body["choices"][0]["message"]) == set(recorded["choices"][0]["message"])
    newest = json.loads((RESPONSES / "derived-chat-completion-2026-02-25-gemini-2.5-flash.json").read_text())
    assert set(body["usage"]) == set(newest["usage"])
    for part in ("prompt_tokens_details", "cost_details", "completion_tokens_details"):
        assert set(body["usage"][part]) == set(newest["usage"][part])
    assert re.fullmatch(r"gen-\d{10}-[A-Za-z0-9]{20}", body["id"])
    assert response.headers["x-generation-id"] == body["id"]
    assert body["model"] == MODEL and body["provider"] == "OpenAI"


def test_usage_and_cost_are_exact(client, catalog) -> None:
    body = exact(chat(client, max_tokens=40))
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert 1 <= usage["completion_tokens"] <= 40
    assert usage["cost"] == expected_cost(catalog, MODEL, usage)
    details = usage["cost_details"]
    assert details["upstream_inference_prompt_cost"] + details["upstream_inference_completions_cost"] == usage["cost"]
    assert usage["prompt_tokens"] == 3 + 4 + len("Hello, how are you today?") // 4 + 1  # ~4 chars/token


def test_same_request_same_reply_and_max_tokens_bounds_it(client) -> None:
    one = chat(client, max_tokens=200).json()
    two = chat(client, max_tokens=200).json()
    assert one["choices"][0]["message"]["content"] == two["choices"][0]["message"]["content"]
    assert one["id"] != two["id"]
    other = chat(client, max_tokens=200, messages=[{"role": "user", "content": "Something else"}]).json()
    assert other["choices"][0]["message"]["content"] != one["choices"][0]["message"]["content"]
    short = chat(client, max_tokens=3).json()
    assert short["usage"]["completion_tokens"] == 3
    assert short["choices"][0]["finish_reason"] == "length"


def test_stream_matches_the_recorded_sse_shape(client, catalog) -> None:
    response = chat(client, stream=True, max_tokens=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    transcript = parse_sse(response.text, exact=True)
    assert transcript.order[0] == "comment" and transcript.comments[0] == ": OPENROUTER PROCESSING"
    assert transcript.order[-1] == "done"
    chunks = transcript.chunks
    for chunk in chunks:
        assert_valid(component("ChatStreamChunk"), json.loads(json.dumps(chunk, default=float)))
        assert chunk["id"] == response.headers["x-generation-id"]
    recorded = [json.loads(line)["json"] for line in
                (RESPONSES / "ai-sdk-provider-fixture-P8ZSCtkLaD6-response.jsonl").read_text().splitlines()
                if "json" in json.loads(line)]
    assert set(chunks[0]) == set(recorded[0])
    assert set(chunks[1]["choices"][0]) == set(recorded[1]["choices"][0])
    assert set(chunks[1]["choices"][0]["delta"]) == set(recorded[1]["choices"][0]["delta"])
    finish, final = chunks[-2], chunks[-1]
    assert finish["choices"][0]["finish_reason"] in ("stop", "length") and "usage" not in finish
    assert set(final) == set(recorded[-1])
    assert final["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert final["choices"][0]["finish_reason"] is None
    assert set(final["usage"]) == set(recorded[-1]["usage"])
    assert final["usage"]["cost"] == expected_cost(catalog, MODEL, final["usage"])
    assert final["usage"]["completion_tokens"] == len(chunks) - 3  # opening, finish, usage


def test_stream_and_non_stream_say_the_same(client) -> None:
    plain = chat(client, max_tokens=25).json()
    streamed = parse_sse(chat(client, max_tokens=25, stream=True).text)
    assert streamed.content == plain["choices"][0]["message"]["content"]
    assert streamed.chunks[-1]["usage"]["cost"] == plain["usage"]["cost"]


def test_unknown_model_is_an_openrouter_400(client) -> None:
    response = chat(client, model="nobody/no-such-model")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == 400 and "not a valid model ID" in body["error"]["message"]
    assert_valid(response_schema("/chat/completions", "post", 400), body)


def test_non_text_models_have_no_chat_endpoints(client, catalog) -> None:
    embedder = next(m for m, v in catalog.items() if v["architecture"]["output_modalities"] == ["embeddings"])
    response = chat(client, model=embedder)
    assert response.status_code == 404
    assert_valid(response_schema("/chat/completions", "post", 404), response.json())


@pytest.mark.parametrize("body", [{"messages": []}, {"model": MODEL}, {"messages": "hi", "model": MODEL}])
def test_malformed_requests_are_400(client, body) -> None:
    response = client.post("/chat/completions", json=body)
    assert response.status_code == 400 and "error" in response.json()
    assert client.post("/chat/completions", content=b"{not json").status_code == 400


def test_missing_key_is_401_in_openrouter_format(emulator_url) -> None:
    response = httpx.post(f"{emulator_url}/chat/completions", json={"model": MODEL, "messages": HELLO})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": 401, "message": "No auth credentials found"}}
    assert_valid(response_schema("/chat/completions", "post", 401), response.json())


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7},
                           "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_tool_calls_when_required_or_named(client, choice) -> None:
    body = chat(client, tools=[WEATHER_TOOL], tool_choice=choice).json()
    assert_valid(component("ChatResult"), body)
    choice0 = body["choices"][0]
    assert choice0["finish_reason"] == "tool_calls"
    call = choice0["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER_TOOL["function"]["parameters"])


def test_auto_tool_choice_calls_a_tool_the_user_names_and_none_never(client) -> None:
    asked = [{"role": "user", "content": "Please use get_weather for Paris"}]
    assert chat(client, tools=[WEATHER_TOOL], messages=asked).json()["choices"][0]["finish_reason"] == "tool_calls"
    plain = chat(client, tools=[WEATHER_TOOL]).json()["choices"][0]
    assert plain["finish_reason"] != "tool_calls" and "tool_calls" not in plain["message"]
    never = chat(client, tools=[WEATHER_TOOL], messages=asked, tool_choice="none").json()
    assert never["choices"][0]["finish_reason"] != "tool_calls"


def test_streamed_tool_call_reassembles(client) -> None:
    transcript = parse_sse(chat(client, tools=[WEATHER_TOOL], tool_choice="required", stream=True).text)
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in transcript.chunks
             if c.get("choices") and c["choices"][0]["delta"].get("tool_calls")]
    assert calls[0]["id"].startswith("call_") and calls[0]["function"]["name"] == "get_weather"
    arguments = "".join(c["function"]["arguments"] for c in calls)
    jsonschema.validate(json.loads(arguments), WEATHER_TOOL["function"]["parameters"])
    assert transcript.chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    for chunk in transcript.chunks:
        assert_valid(component("ChatStreamChunk"), chunk)


def test_json_schema_and_json_object_response_formats(client) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}, "score": {"type": "number"},
                                                "tags": {"type": "array", "items": {"type": "string"}}},
              "required": ["title", "score", "tags"], "additionalProperties": False}
    fmt = {"type": "json_schema", "json_schema": {"name": "review", "strict": True, "schema": schema}}
    content = chat(client, response_format=fmt).json()["choices"][0]["message"]["content"]
    jsonschema.validate(json.loads(content), schema)
    obj = chat(client, response_format={"type": "json_object"}).json()["choices"][0]["message"]["content"]
    assert isinstance(json.loads(obj), dict)


def test_reasoning_tokens_are_part_of_completion_and_billed_at_completion_rate(client, catalog) -> None:
    model = "anthropic/claude-sonnet-4.5"
    body = exact(chat(client, model=model, reasoning={"effort": "low"}, max_tokens=100))
    usage = body["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert 0 < reasoning < usage["completion_tokens"] <= 100
    message = body["choices"][0]["message"]
    assert message["reasoning"] and message["reasoning_details"][0]["type"] == "reasoning.text"
    assert usage["cost"] == expected_cost(catalog, model, usage)
    off = chat(client, model=model, reasoning={"enabled": False}).json()["usage"]
    assert off["completion_tokens_details"]["reasoning_tokens"] == 0
    mandatory = chat(client, model="openai/gpt-5-mini").json()["usage"]
    assert mandatory["completion_tokens_details"]["reasoning_tokens"] > 0


def test_a_repeated_prefix_is_read_from_the_prompt_cache(client, fresh, catalog) -> None:
    conversation = [{"role": "system", "content": "You are terse. " * 40}, {"role": "user", "content": "Hi"}]
    first = exact(chat(client, messages=conversation))["usage"]
    second = exact(chat(client, messages=conversation))["usage"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    assert 0 < second["prompt_tokens_details"]["cached_tokens"] < second["prompt_tokens"]
    assert second["cost"] == expected_cost(catalog, MODEL, second) < first["cost"]


def test_explicit_cache_control_bills_cache_writes(client, fresh, catalog) -> None:
    model = "anthropic/claude-sonnet-4.5"
    system = {"role": "system", "content": [{"type": "text", "text": "Long instructions. " * 50,
                                             "cache_control": {"type": "ephemeral"}}]}
    messages = [system, {"role": "user", "content": "Hi"}]
    written = exact(chat(client, model=model, messages=messages))["usage"]
    assert written["prompt_tokens_details"]["cache_write_tokens"] > 0
    assert written["cost"] == expected_cost(catalog, model, written)
    read = exact(chat(client, model=model, messages=messages))["usage"]
    assert read["prompt_tokens_details"]["cached_tokens"] == written["prompt_tokens_details"]["cache_write_tokens"]


def test_variable_price_router_bills_the_model_it_picked(client, catalog) -> None:
    body = exact(chat(client, model="openrouter/auto"))
    picked = body["model"]
    assert picked != "openrouter/auto" and picked in catalog
    assert catalog[picked]["pricing"]["prompt"] != "-1"
    assert body["usage"]["cost"] == expected_cost(catalog, picked, body["usage"])
    again = exact(chat(client, model="openrouter/auto"))
    assert again["model"] == picked  # deterministic for the same request
    free = chat(client, model="openrouter/free").json()
    assert catalog[free["model"]]["pricing"] == {"prompt": "0", "completion": "0"}
    assert free["usage"]["cost"] == 0


def test_context_length_exceeded(client) -> None:
    response = chat(client, model="openai/gpt-3.5-turbo-0613",
                    messages=[{"role": "user", "content": "word " * 5000}])
    assert response.status_code == 400
    body = response.json()
    assert "maximum context length is 4095 tokens" in body["error"]["message"]
    assert_valid(response_schema("/chat/completions", "post", 400), body)


def test_provider_order_and_only(client) -> None:
    model = "meta-llama/llama-4-scout"
    endpoints = client.get(f"/models/{model}/endpoints").json()["data"]["endpoints"]
    last = endpoints[-1]
    body = exact(chat(client, model=model, provider={"order": [last["provider_name"]]}))
    assert body["provider"] == last["provider_name"]
    pricing = parse_pricing(json.loads(json.dumps(last["pricing"]), parse_float=Decimal))
    assert body["usage"]["cost"] == compute_cost(pricing, Usage.from_openrouter(body["usage"])).total
    none = chat(client, model=model, provider={"only": ["NoSuchProvider"]})
    assert none.status_code == 404


def test_the_official_openai_sdk_reads_the_answers(emulator_url) -> None:
    openai = pytest.importorskip("openai")
    sdk = openai.OpenAI(base_url=emulator_url, api_key="sk-or-test", max_retries=0)
    completion = sdk.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=20)
    assert completion.choices[0].message.content and completion.usage.completion_tokens <= 20
    text = ""
    usage = None
    for chunk in sdk.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=20, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        usage = chunk.usage or usage
    assert text == completion.choices[0].message.content
    assert usage is not None and usage.completion_tokens == completion.usage.completion_tokens
