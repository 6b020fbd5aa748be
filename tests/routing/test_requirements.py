"""Requirements derived from chat request bodies: the recorded real requests first, then
every field the router reads, and malformed bodies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from minerva_core.errors import RoutingRequestError
from minerva_core.routing import Catalog, decide, requirements_from_request
from minerva_core.routing.tokens import IMAGE_TOKENS, FILE_TOKENS
from tests.routing.conftest import request_fixture


def body(**fields):
    return {"messages": [{"role": "user", "content": "Hello"}], **fields}


# -- recorded requests (tests/fixtures/openrouter/responses/*-request.json) ----------------

def test_pdf_sent_as_image_url_counts_as_a_file() -> None:
    r = requirements_from_request(request_fixture(
        "ai-sdk-provider-fixture-IcAxzM4Kgpg-request.json"))
    assert r.model == "google/gemini-2.0-flash-001"
    assert r.input_modalities == {"text", "file"}  # data:application/pdf;base64,...
    assert r.stream is False and r.max_tokens_explicit is False
    # 3 priming + 4 message + ceil(61/4) text + a file
    assert r.prompt_tokens == 3 + 4 + 16 + FILE_TOKENS
    assert r.completion_tokens == 1024


def test_plain_recorded_request() -> None:
    r = requirements_from_request(request_fixture(
        "ai-sdk-provider-fixture-MjYFGfSpdlk-request.json"))
    assert r.model == "anthropic/claude-sonnet-4"
    assert r.input_modalities == {"text"} and r.output_modalities == {"text"}
    assert not (r.needs_tools or r.needs_structured_output or r.needs_reasoning)
    assert r.prompt_tokens == 3 + 4 + 39  # ceil(154 characters / 4)


def test_streamed_recorded_request_with_max_tokens() -> None:
    r = requirements_from_request(request_fixture(
        "ai-sdk-provider-fixture-P8ZSCtkLaD6-request.json"))
    assert (r.model, r.stream, r.max_tokens_explicit, r.completion_tokens) == (
        "anthropic/claude-sonnet-4.5", True, True, 64_000)
    assert r.context_tokens == r.prompt_tokens + 64_000


def test_thinking_variant_request() -> None:
    r = requirements_from_request(request_fixture(
        "ai-sdk-provider-fixture-JlkjtO2qFKO-request.json"))
    assert r.model == "anthropic/claude-3.7-sonnet:thinking" and r.stream


def test_recorded_requests_route_on_the_snapshot(snapshot_catalog: Catalog) -> None:
    r = requirements_from_request(request_fixture(
        "ai-sdk-provider-fixture-P8ZSCtkLaD6-request.json"))
    d = decide(snapshot_catalog, r)
    assert d.selected_model == "anthropic/claude-sonnet-4.5"
    # 64,000 completion tokens at $15/M plus the prompt at $3/M
    assert d.estimated_cost == r.prompt_tokens * Decimal("0.000003") + 64_000 * Decimal(
        "0.000015")


# -- each field ---------------------------------------------------------------------------

def test_max_completion_tokens_wins_over_max_tokens() -> None:
    r = requirements_from_request(body(max_tokens=100, max_completion_tokens=300))
    assert (r.completion_tokens, r.max_tokens_explicit) == (300, True)
    assert requirements_from_request(body(), default_max_tokens=256).completion_tokens == 256


def test_modalities_from_parts() -> None:
    r = requirements_from_request({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:..."}},
    ]}]})
    assert r.input_modalities == {"text", "image", "audio", "file"}
    assert r.prompt_tokens == 3 + 4 + 1 + 2 * IMAGE_TOKENS + 1000 + FILE_TOKENS


def test_tools_structured_output_and_reasoning() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}
    r = requirements_from_request(body(tools=tools, response_format=schema,
                                       reasoning={"effort": "high"}))
    assert r.needs_tools and r.needs_structured_output and r.needs_reasoning
    assert requirements_from_request(body(response_format={"type": "json_object"})
                                     ).needs_structured_output
    assert not requirements_from_request(body(response_format={"type": "text"})
                                         ).needs_structured_output
    assert requirements_from_request(body(reasoning_effort="low")).needs_reasoning
    assert requirements_from_request(body(include_reasoning=True)).needs_reasoning
    assert not requirements_from_request(body(reasoning={"enabled": False})).needs_reasoning
    assert not requirements_from_request(body(reasoning_effort="none")).needs_reasoning
    assert not requirements_from_request(body(tools=[])).needs_tools


def test_tool_definitions_count_toward_the_prompt() -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "description": "x" * 400}}]
    assert (requirements_from_request(body(tools=tools)).prompt_tokens
            > requirements_from_request(body()).prompt_tokens + 100)


def test_provider_preferences() -> None:
    r = requirements_from_request(body(provider={
        "only": ["OpenAI", "Google AI Studio"], "ignore": ["DeepInfra"],
        "order": ["openai"], "data_collection": "deny", "sort": "throughput",
        "max_price": {"prompt": 1, "completion": "2.5", "request": "0.01"},
    }))
    assert r.allowed_providers == {"openai", "google-ai-studio"}
    assert r.ignored_providers == {"deepinfra"}
    assert r.provider_order == ("openai",) and r.allow_provider_fallbacks
    assert r.deny_data_collection and r.sort == "throughput"
    # OpenRouter's max_price is USD per million tokens; the catalog is per token
    assert r.max_prompt_price == Decimal("0.000001")
    assert r.max_completion_price == Decimal("0.0000025")
    assert r.max_request_price == Decimal("0.01")
    assert requirements_from_request(body(provider={"sort": {"by": "latency"}})).sort == "latency"


def test_require_parameters_lists_the_sampling_parameters_sent() -> None:
    r = requirements_from_request(body(temperature=0.2, seed=7, stop=["x"],
                                       provider={"require_parameters": True}))
    assert r.required_parameters == {"temperature", "seed", "stop"}
    assert requirements_from_request(body(seed=7)).required_parameters == frozenset()


def test_models_chain_and_minerva_extras() -> None:
    r = requirements_from_request(body(model="a/x", models=["b/y", "a/x", "c/z", "b/y"],
                                       minerva={"min_uptime": 0.99, "max_cost_usd": "0.05"}))
    assert (r.model, r.models) == ("a/x", ("b/y", "c/z"))
    assert r.min_uptime == 0.99 and r.max_cost_usd == Decimal("0.05")


def test_output_modalities() -> None:
    assert requirements_from_request(body(modalities=["image", "text"])).output_modalities == {
        "image", "text"}


def test_legacy_prompt_and_functions() -> None:
    r = requirements_from_request({"prompt": "abcdefgh", "functions": [{"name": "f"}]})
    assert r.prompt_tokens == 2 and r.needs_tools


@pytest.mark.parametrize("bad", [
    [], {"messages": "hi"}, {"model": "x"}, body(max_tokens=0), body(max_tokens="9"),
    body(models="a/b"), body(provider=[]), body(provider={"only": "openai"}),
    body(provider={"max_price": {"prompt": "cheap"}}), body(provider={"max_price": {"prompt": -1}}),
    body(provider={"sort": "random"}), body(minerva={"min_uptime": 2}),
    body(minerva={"max_cost_usd": True}), body(modalities="text"), body(model=5),
])
def test_malformed_bodies_raise(bad) -> None:
    with pytest.raises(RoutingRequestError):
        requirements_from_request(bad)
