"""Every fallback trigger, with the emulator failing the first candidate for real: the next
candidate serves at once, each attempt is recorded, fallback_depth is set."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.gateway import support
from tests.gateway.support import A, B, rows_for
from tests.support.emulator import arm_fault, running_emulator

BODY = {"model": A, "messages": [{"role": "user", "content": "fallback please"}], "max_tokens": 40}


def _post(url: str, key: str, body: dict = BODY, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {key}", **(headers or {})})


@pytest.mark.parametrize("fault", ["429", "500", "502", "503", "reset", "malformed", "context_length"])
def test_fault_falls_over_to_the_next_candidate(fault, gw_url, upstream, api_key, gw_engine) -> None:
    arm_fault(upstream, fault, model=A, count=1)
    started = time.perf_counter()
    response = _post(gw_url, api_key)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    assert response.json()["model"] == B
    assert response.headers["x-minerva-model"] == B
    row, decision = rows_for(gw_engine, response.headers["x-request-id"])
    assert row["status"] == "ok" and row["fallback_depth"] == 1 and row["model_used"] == B
    first, second = decision["attempts"]
    assert first["model"] == A and first["error"] is not None
    assert second["model"] == B and second["status"] == 200 and second["error"] is None
    if fault.isdigit():
        assert first["status"] == int(fault)
    if fault == "context_length":
        assert first["error"] == "ContextLengthExceeded"
    # No sleep between attempts: the whole request is the two attempts plus little else.
    assert elapsed_ms < first["latency_ms"] + second["latency_ms"] + 500


def test_hung_upstream_falls_over_after_the_first_byte_timeout(gw_url, upstream, api_key, gw_engine) -> None:
    arm_fault(upstream, "hang", model=A, count=1)
    started = time.perf_counter()
    response = _post(gw_url, api_key, headers={"X-Minerva-First-Byte-Timeout-Ms": "300"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.json()["model"] == B
    assert elapsed < 1.5
    _, decision = rows_for(gw_engine, response.headers["x-request-id"])
    first = decision["attempts"][0]
    assert first["error"] == "UpstreamTimeout" and 250 <= first["latency_ms"] < 1000


def test_streamed_request_falls_over_before_the_first_byte(gw_url, upstream, api_key, gw_engine) -> None:
    arm_fault(upstream, "503", model=A, count=1)
    with httpx.stream("POST", f"{gw_url}/v1/chat/completions", timeout=30,
                      headers={"Authorization": f"Bearer {api_key}"}, json={**BODY, "stream": True}) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert f'"model":"{B}"' in text and text.rstrip().endswith("data: [DONE]")
    row, decision = rows_for(gw_engine, response.headers["x-request-id"])
    assert row["fallback_depth"] == 1 and row["streamed"] is True and row["status"] == "ok"
    assert [a["model"] for a in decision["attempts"]] == [A, B]


def test_every_candidate_failing_answers_502_and_records_all_attempts(gw_url, upstream, gw_engine, make_key) -> None:
    key = make_key("three-models", allowed_models=[A, B, support.C])[0]
    for model in (A, B, support.C):
        arm_fault(upstream, "502", model=model, count=1)
    response = _post(gw_url, key)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    row, decision = rows_for(gw_engine, response.headers["x-request-id"])
    assert [a["model"] for a in decision["attempts"]] == [A, B, support.C]
    assert row["status"] == "error" and row["http_status"] == 502 and decision["outcome"] == "error"


def test_other_4xx_is_not_retried(gw_db_url, gw_engine, tmp_path) -> None:
    with running_emulator(seed=7, require_key="the-right-key") as locked:
        settings = support.settings_for(gw_db_url, locked, tmp_path)
        app = support.build_app(settings, support.test_config(tmp_path))
        key = support.new_key(gw_engine, "not-retried")[0]
        with support.serve(app) as url:
            response = _post(url, key)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_authentication_failed"
    _, decision = rows_for(gw_engine, response.headers["x-request-id"])
    assert len(decision["attempts"]) == 1 and decision["attempts"][0]["status"] == 401
