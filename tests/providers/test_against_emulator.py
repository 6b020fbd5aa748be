"""The provider layer over real HTTP against the emulator: paging, retries on 429/5xx with
Retry-After, typed errors by status, exact money, streaming, generation's 404-then-200."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from minerva_core.errors import (
    AuthenticationError,
    ContextLengthExceeded,
    NotFound,
    RateLimited,
    ServerError,
    UpstreamConnectionError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from minerva_core.providers import OpenRouterProvider, RetryPolicy, new_client
from tests.support.emulator import arm_fault, clear_faults, running_emulator

MODEL = "openai/gpt-4o-mini"


@pytest.fixture(scope="module")
def emulator():
    with running_emulator(generation_delay_ms=400, retry_after_s=1, require_key="sk-test") as base_url:
        yield base_url


def _run(coro_factory, *, base_url, key="sk-test", retry=RetryPolicy(attempts=3, base_delay=0.05), timeout=None):
    async def main():
        import httpx

        kwargs = {"timeout": httpx.Timeout(timeout)} if timeout else {}
        async with new_client(**kwargs) as client:
            provider = OpenRouterProvider(base_url=base_url, api_key=key, client=client, retry=retry)
            return await coro_factory(provider)

    return asyncio.run(main())


def test_discover_follows_links_next_to_every_model(emulator):
    models = _run(lambda p: p.discover_models("all"), base_url=emulator)
    ids = [m["id"] for m in models]
    assert len(ids) == 549 and len(set(ids)) == 549


def test_429_is_retried_after_retry_after_then_succeeds(emulator):
    clear_faults(emulator)
    arm_fault(emulator, "429", path="/models", count=1)
    started = time.perf_counter()
    models = _run(lambda p: p.get_json("/models"), base_url=emulator)
    assert len(models["data"]) > 0
    assert time.perf_counter() - started >= 0.9, "Retry-After: 1 was honoured"


def test_5xx_retried_until_the_budget_then_typed_error(emulator):
    clear_faults(emulator)
    arm_fault(emulator, "503", path="/models", count=5)
    with pytest.raises(ServerError) as info:
        _run(lambda p: p.get_json("/models"), base_url=emulator)
    assert info.value.status_code == 503
    clear_faults(emulator)


def test_client_errors_are_typed_and_not_retried(emulator):
    with pytest.raises(AuthenticationError):
        _run(lambda p: p.key_info(), base_url=emulator, key="wrong")
    arm_fault(emulator, "context_length", model=MODEL, count=1)
    with pytest.raises(ContextLengthExceeded):
        _run(lambda p: p.generate_completion({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}), base_url=emulator)


def test_rate_limited_completion_carries_retry_after(emulator):
    arm_fault(emulator, "429", model=MODEL, count=1)
    with pytest.raises(RateLimited) as info:
        _run(lambda p: p.generate_completion({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}), base_url=emulator)
    assert info.value.retry_after == 1.0


def test_reset_and_malformed_and_hang_map_to_their_types(emulator):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    arm_fault(emulator, "reset", model=MODEL, count=1)
    with pytest.raises(UpstreamConnectionError):
        _run(lambda p: p.generate_completion(body), base_url=emulator)
    arm_fault(emulator, "malformed", model=MODEL, count=1)
    with pytest.raises(UpstreamProtocolError):
        _run(lambda p: p.generate_completion(body), base_url=emulator)
    arm_fault(emulator, "hang", model=MODEL, count=1)
    with pytest.raises(UpstreamTimeout):
        _run(lambda p: p.generate_completion(body), base_url=emulator, timeout=1.0)
    clear_faults(emulator)


def test_completion_stream_and_exact_generation_cost(emulator):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 20}

    async def flow(p):
        completion = await p.generate_completion(body)
        first = await p.generation(completion.generation_id)  # not yet visible: None
        await asyncio.sleep(0.6)
        later = await p.generation(completion.generation_id)
        events = [e async for e in p.stream_completion({**body, "stream_options": {"include_usage": True}})]
        return completion, first, later, events

    completion, first, later, events = _run(flow, base_url=emulator)
    assert completion.usage["cost"] > 0 and completion.generation_id.startswith("gen-")
    assert first is None
    assert isinstance(later["total_cost"], Decimal)
    assert later["total_cost"] == Decimal(str(completion.usage["cost"]))
    assert events[-1].done and any(e.usage for e in events)


def test_unknown_generation_is_none_and_missing_route_is_not_found(emulator):
    assert _run(lambda p: p.generation("gen-does-not-exist"), base_url=emulator) is None
    with pytest.raises(NotFound):
        _run(lambda p: p.get_json("/no-such-route"), base_url=emulator)


def test_availability_reports_credits_exactly(emulator):
    availability = _run(lambda p: p.is_available(), base_url=emulator)
    assert availability.reachable and availability.key_valid
    assert isinstance(availability.credits_remaining, Decimal)
    bad = _run(lambda p: p.is_available(), base_url=emulator, key="nope")
    assert bad.reachable and bad.key_valid is False
