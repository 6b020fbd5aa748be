"""Upstream faults through a real `minerva proxy` process in front of a real emulator process.

tests/gateway/test_fallbacks.py checks the fallback triggers on an in-process app; here the
proxy runs as operators run it (its own process, its flusher child, configuration from the
environment), every emulator fault is tried streamed and not, and the timing of the
fallback is measured from the emulator's side: the fallback's generation carries the time
the emulator received it, the ledger row the time the proxy received the request.

The key may use two models, A then B. A failing fault on A must be answered by B (the
fallback happens before the first byte reaches the client), the ledger row says so and
the decision row lists both attempts; the same fault on both must be answered with the
OpenAI-style error for it. A fault that shows only after the first byte (midstream, with
tokens spaced out) cannot fall back: the stream ends with an error event and the ledger
row says error.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text

from tests.gateway import support
from tests.gateway.support import A, B
from tests.reliability.ledger_checks import await_exactly_one_row_each, problems
from tests.support.emulator import arm_fault, clear_faults, running_emulator
from tests.support.proxy_runner import KillableProxy, running_proxy

pytestmark = pytest.mark.slow

FIRST_BYTE_TIMEOUT_S = 0.5
#: Faults that show at once, and those that show only when the first-byte timeout fires
#: (hang: no headers; drip: a body, or a first SSE event, that trickles in byte by byte).
AT_ONCE = {"429": ("RateLimited", 429), "500": ("ServerError", 500), "502": ("ServerError", 502),
           "503": ("ServerError", 503), "reset": ("UpstreamConnectionError", None),
           "malformed": ("UpstreamProtocolError", None)}
AFTER_TIMEOUT = {"hang": ("UpstreamTimeout", None), "drip": ("UpstreamTimeout", None)}
#: midstream: non-stream, a 200 whose body is an error object; streamed, an error chunk.
FAULTS = {**AT_ONCE, **AFTER_TIMEOUT, "midstream": ("ServerError", 502)}
#: What the client gets when both models fail this way: (status, error.type, error.code).
EXHAUSTED = {
    "429": (429, "rate_limit_error", "upstream_rate_limited"),
    "500": (502, "upstream_error", "upstream_error"),
    "502": (502, "upstream_error", "upstream_error"),
    "503": (502, "upstream_error", "upstream_error"),
    "reset": (502, "upstream_error", "upstream_error"),
    "malformed": (502, "upstream_error", "upstream_error"),
    "midstream": (502, "upstream_error", "upstream_error"),
    "hang": (504, "timeout", "upstream_timeout"),
    "drip": (504, "timeout", "upstream_timeout"),
}
LEDGER_STATUS = {429: "rate_limited", 502: "error", 504: "timeout"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    # generation_delay_ms 0: the fallback's /generation record (its arrival time) at once.
    with running_emulator(seed=7, generation_delay_ms=0, drip_ms=20, retry_after_s=3) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def proxy(rel_db_url: str, upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KillableProxy]:
    home: Path = tmp_path_factory.mktemp("faults_proxy")
    with running_proxy(rel_db_url, upstream, home, first_byte_timeout_s=FIRST_BYTE_TIMEOUT_S) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def proxy_url(proxy: KillableProxy) -> str:
    return proxy.url


@pytest.fixture(scope="module")
def key(rel_engine: Engine, proxy_url: str) -> str:
    plaintext, _ = support.new_key(rel_engine, "faults", allowed_models=[A, B])
    # The proxy learns the key by NOTIFY (or its 1 s version poll).
    support.wait_for(lambda: _post(proxy_url, plaintext, False).status_code == 200, timeout=15)
    return plaintext


@pytest.fixture(autouse=True)
def _no_faults_left(upstream: str) -> Iterator[None]:
    clear_faults(upstream)
    yield
    clear_faults(upstream)


def _post(url: str, key: str, stream: bool, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"model": A, "stream": stream, "max_tokens": 24, "messages": [{"role": "user", "content": "fault please"}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {key}", **(headers or {})})


def _sse_events(body: str) -> list[Any]:
    events = []
    for block in body.split("\n\n"):
        block = block.strip()
        if block.startswith("data:"):
            payload = block[5:].strip()
            events.append(payload if payload == "[DONE]" else orjson.loads(payload))
    return events


def _rows(engine: Engine, request_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    counts = await_exactly_one_row_each(engine, [request_id], timeout=15)
    assert not problems(counts), counts
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM usage_ledger WHERE request_id = :r"), {"r": request_id}).one()
        decision = conn.execute(text("SELECT * FROM routing_decisions WHERE request_id = :r"),
                                {"r": request_id}).one()
    return dict(row._mapping), dict(decision._mapping)


def _arrival(upstream: str, generation_id: str) -> datetime:
    """When the emulator received the request of this generation (its created_at)."""
    def fetch() -> dict[str, Any] | None:
        response = httpx.get(f"{upstream}/generation", params={"id": generation_id}, timeout=5,
                             headers={"Authorization": "Bearer any"})
        return response.json()["data"] if response.status_code == 200 else None

    data = support.wait_for(fetch, timeout=10)
    return datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))


# Streamed, midstream fails after the first byte: the test below covers it.
FALLBACK_CASES = [pytest.param(fault, stream, id=f"{fault}-{'sse' if stream else 'json'}")
                  for fault in FAULTS for stream in (False, True) if not (fault == "midstream" and stream)]


@pytest.mark.parametrize(("fault", "stream"), FALLBACK_CASES)
def test_fault_on_the_first_model_falls_back_to_the_next(fault, stream, upstream, proxy, proxy_url, key,
                                                          rel_engine) -> None:
    arm_fault(upstream, fault, model=A, count=1)
    response = _post(proxy_url, key, stream)

    assert response.status_code == 200, response.text
    assert response.headers["x-minerva-model"] == B and response.headers["x-minerva-fallback-depth"] == "1"
    if stream:
        events = _sse_events(response.text)
        assert events[-1] == "[DONE]" and all(isinstance(e, dict) and "error" not in e for e in events[:-1])
        assert {e["model"] for e in events[:-1]} == {B}
    else:
        answer = response.json()
        assert answer["model"] == B and answer["choices"][0]["message"]["content"]

    row, decision = _rows(rel_engine, response.headers["x-request-id"])
    assert (row["status"], row["fallback_depth"], row["model_used"], row["http_status"]) == ("ok", 1, B, 200)
    first, second = decision["attempts"]
    error_class, status = FAULTS[fault]
    assert (first["model"], first["error"], first["status"]) == (A, error_class, status)
    assert (second["model"], second["error"], second["status"]) == (B, None, 200)
    logged = f"request {row['request_id']}: {A} failed upstream with {error_class} (status {status})"
    assert logged in proxy.log_path.read_text(), "the failed attempt is logged (type and status only)"

    # The proxy's own timings: the second attempt starts at once after the first failed.
    gap_ms = second["started_ms"] - (first["started_ms"] + first["latency_ms"])
    assert -0.2 <= gap_ms < 1000, decision["attempts"]  # (each figure is rounded to 0.1 ms)
    # The emulator's: when the fallback reached it, counted from the proxy's arrival time.
    after_s = (_arrival(upstream, row["generation_id"]) - row["created_at"]).total_seconds()
    shows_after = FIRST_BYTE_TIMEOUT_S if fault in AFTER_TIMEOUT else 0.0
    assert shows_after <= after_s < shows_after + 1.0, (fault, after_s)
    if fault in AFTER_TIMEOUT:
        assert FIRST_BYTE_TIMEOUT_S * 1000 - 50 <= first["latency_ms"] < FIRST_BYTE_TIMEOUT_S * 1000 + 500


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("fault", list(EXHAUSTED))
def test_fault_on_every_model_answers_the_openai_error(fault, stream, upstream, proxy_url, key, rel_engine) -> None:
    arm_fault(upstream, fault, model=A, count=1)
    arm_fault(upstream, fault, model=B, count=1)
    headers = {"X-Emulator-Token-Ms": "30"} if fault == "midstream" and stream else None
    response = _post(proxy_url, key, stream, headers)
    row, decision = _rows(rel_engine, response.headers["x-request-id"])

    if fault == "midstream" and stream:
        # A sent its first tokens before failing: no fallback is possible after the first
        # byte, so the stream ends with the error event and [DONE], and the row says error.
        assert response.status_code == 200
        events = _sse_events(response.text)
        assert events[-1] == "[DONE]" and "error" in events[-2]
        assert any(e["choices"][0]["delta"].get("content") for e in events[:-2] if "choices" in e)
        assert (row["status"], row["fallback_depth"], row["model_used"]) == ("error", 0, A)
        assert [a["model"] for a in decision["attempts"]] == [A]
        return

    status, error_type, code = EXHAUSTED[fault]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert (error["type"], error["code"]) == (error_type, code) and error["message"] and "param" in error
    if status == 429:
        assert response.headers["retry-after"] == "3"  # the upstream's Retry-After, passed on
    assert (row["status"], row["http_status"]) == (LEDGER_STATUS[status], status)
    assert [a["model"] for a in decision["attempts"]] == [A, B]
    assert all(a["error"] == FAULTS[fault][0] for a in decision["attempts"]), decision["attempts"]
    assert decision["outcome"] == "error"
