"""Pure parts of the provider layer on literal and recorded data: SSE parsing, error mapping,
Retry-After, and the retry loop's decisions."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx
import pytest

from minerva_core.errors import (
    AuthenticationError,
    BadRequest,
    ContextLengthExceeded,
    InsufficientCredits,
    RateLimited,
    ServerError,
    UpstreamConnectionError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from minerva_core.providers.error_mapping import parse_retry_after, status_error, transport_error
from minerva_core.providers.http import RetryPolicy, request_with_retries
from minerva_core.providers.sse import SSEParser

RESPONSES = Path(__file__).parents[1] / "fixtures" / "openrouter" / "responses"


def _events(raw: bytes, chunk_size: int):
    parser = SSEParser()
    events = []
    for start in range(0, len(raw), chunk_size):
        events.extend(parser.feed(raw[start : start + chunk_size]))
    events.extend(parser.close())
    return events


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100_000])
def test_recorded_reasoning_stream_parses_identically_however_it_is_split(chunk_size):
    raw = (RESPONSES / "derived-sse-2025-12-08-claude-sonnet-4.5-reasoning.sse").read_bytes()
    events = _events(raw, chunk_size)
    comments = [e for e in events if e.comment is not None]
    data = [e for e in events if e.data is not None]
    assert [c.comment for c in comments] == ["OPENROUTER PROCESSING"] * 4
    assert len(data) == 14  # 15 data lines, the last being [DONE]
    assert events[-1].done
    assert data[-1].usage is not None and data[-1].usage["cost"] > 0
    assert events == _events(raw, 100_000)


def test_midstream_error_surfaces_as_an_error_event():
    raw = (RESPONSES / "derived-sse-2025-11-03-minimax-m2-free-midstream-error.sse").read_bytes()
    events = _events(raw, 13)
    errors = [e.error for e in events if e.error]
    assert errors and errors[0]["code"] == 400
    assert events[-1].done


def test_crlf_and_multiline_data_are_joined():
    events = _events(b'data: {"a":\r\ndata: 1}\r\n\r\ndata: [DONE]\r\n\r\n', 3)
    assert events[0].data == {"a": 1}
    assert events[1].done


def test_malformed_chunk_is_a_protocol_error():
    parser = SSEParser()
    with pytest.raises(UpstreamProtocolError):
        list(parser.feed(b"data: {not json\n\n"))


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (400, b'{"error":{"code":400,"message":"bad"}}', BadRequest),
        (400, b'{"error":{"code":"context_length_exceeded","message":"too long"}}', ContextLengthExceeded),
        (400, b'{"error":{"code":400,"message":"x","metadata":{"error_type":"context_length_exceeded"}}}', ContextLengthExceeded),
        (401, b'{"error":{"code":401,"message":"No auth credentials found"}}', AuthenticationError),
        (402, b"", InsufficientCredits),
        (429, b'\n  {"error":{"code":429,"message":"Provider returned error"}}', RateLimited),
        (502, b"<html>bad gateway</html>", ServerError),
        (503, b"{}", ServerError),
    ],
)
def test_status_mapping_is_by_status_and_code(status, body, expected):
    error = status_error(status, body, {"retry-after": "3"})
    assert type(error) is expected
    assert error.status_code == status
    assert error.retry_after == 3.0


def test_context_length_is_not_inferred_from_message_text():
    error = status_error(400, b'{"error":{"code":400,"message":"maximum context length exceeded"}}', {})
    assert type(error) is BadRequest


def test_retry_after_forms():
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_transport_errors_map_by_type():
    assert isinstance(transport_error(httpx.ReadTimeout("t")), UpstreamTimeout)
    assert isinstance(transport_error(httpx.ConnectError("c")), UpstreamConnectionError)
    assert isinstance(transport_error(httpx.RemoteProtocolError("r")), UpstreamConnectionError)


def _run(answers, policy=RetryPolicy(attempts=4, base_delay=0.1)):
    """Drive the retry loop with scripted answers; return (result or error, sleeps, calls)."""
    sleeps: list[float] = []
    calls = []
    request = httpx.Request("GET", "http://upstream.test/x")

    async def send():
        answer = answers[len(calls)]
        calls.append(answer)
        if isinstance(answer, Exception):
            raise answer
        status, headers = answer
        return httpx.Response(status, headers=headers, content=b'{"error":{"code":%d}}' % status, request=request)

    async def sleep(seconds):
        sleeps.append(seconds)

    async def main():
        return await request_with_retries(send, policy=policy, provider="t", sleep=sleep, rng=random.Random(1))

    try:
        result = asyncio.run(main())
    except Exception as exc:  # the typed error is the result under test
        result = exc
    return result, sleeps, calls


def test_retries_429_honouring_retry_after_then_succeeds():
    result, sleeps, calls = _run([(429, {"retry-after": "1.5"}), (503, {}), (200, {})])
    assert isinstance(result, httpx.Response) and result.status_code == 200
    assert sleeps[0] == 1.5
    assert 0 <= sleeps[1] <= 0.2
    assert len(calls) == 3


def test_does_not_retry_client_errors():
    result, sleeps, calls = _run([(401, {}), (200, {})])
    assert isinstance(result, AuthenticationError)
    assert sleeps == [] and len(calls) == 1


def test_gives_up_after_the_attempt_budget_with_the_last_error():
    result, sleeps, calls = _run([(500, {}), httpx.ConnectError("x"), (502, {}), (503, {})])
    assert isinstance(result, ServerError) and result.status_code == 503
    assert len(calls) == 4 and len(sleeps) == 3


def test_retry_after_is_capped():
    policy = RetryPolicy(attempts=2, max_retry_after=5)
    result, sleeps, _ = _run([(429, {"retry-after": "3600"}), (200, {})], policy)
    assert sleeps == [5]
