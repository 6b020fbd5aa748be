"""Every fault mode and the latency controls, against the real subprocess."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.emulator.openapi_spec import assert_valid, component, response_schema
from tests.emulator.sse import parse_sse
from tests.support.emulator import arm_fault, clear_faults, root_url, running_emulator

RESPONSES = Path(__file__).resolve().parents[1] / "fixtures" / "openrouter" / "responses"
EMULATOR_OPTIONS = {"seed": 9, "keepalive_ms": 100, "drip_ms": 150, "retry_after_s": 2, "generation_delay_ms": 0}
MODEL = "openai/gpt-4.1-mini"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 20}


def post(client: httpx.Client, fault: str | None = None, body: dict | None = None, **headers: str) -> httpx.Response:
    """POST a chat request; keyword headers are spelled with underscores (X_Emulator_Ttft_Ms)."""
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    if fault:
        sent["X-Emulator-Fault"] = fault
    return client.post("/chat/completions", json=body or BODY, headers=sent)


def test_429_has_retry_after_and_the_recorded_body_shape(client) -> None:
    response = post(client, "429")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    body = response.json()
    assert_valid(response_schema("/chat/completions", "post", 429), body)
    cassette = yaml.safe_load((RESPONSES / "pydantic-ai-cassette-test_openrouter_errors_raised.yaml").read_text())
    recorded = cassette["interactions"][0]["response"]["parsed_body"]
    assert set(body) == set(recorded)
    assert set(body["error"]) == set(recorded["error"])
    assert set(body["error"]["metadata"]) == set(recorded["error"]["metadata"])
    assert "rate-limited upstream" in body["error"]["metadata"]["raw"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(client, status: int) -> None:
    response = post(client, str(status))
    assert response.status_code == status
    assert_valid(response_schema("/chat/completions", "post", status), response.json())
    assert response.json()["error"]["code"] == status


def test_context_length_fault(client) -> None:
    response = post(client, "context_length")
    assert response.status_code == 400
    assert "maximum context length" in response.json()["error"]["message"]
    assert_valid(response_schema("/chat/completions", "post", 400), response.json())


def test_unknown_fault_header_is_refused(client) -> None:
    assert post(client, "explode").status_code == 400


def test_a_model_fails_n_times_then_recovers(client, fresh) -> None:
    armed = arm_fault(fresh, "503", model=MODEL, count=2)
    assert armed["armed"]["remaining"] == 2
    assert [post(client).status_code for _ in range(3)] == [503, 503, 200]
    assert httpx.get(root_url(fresh) + "/__emulator/faults").json()["faults"] == []


def test_a_fault_until_cleared(client, fresh) -> None:
    arm_fault(fresh, "429", model=MODEL, count=None)
    assert [post(client).status_code for _ in range(3)] == [429] * 3
    clear_faults(fresh)
    assert post(client).status_code == 200


def test_fallback_models_route_around_an_armed_fault(client, fresh) -> None:
    arm_fault(fresh, "502", model=MODEL, count=1)
    body = {**BODY, "models": [MODEL, "openai/gpt-5-mini"]}
    assert post(client, body=body).json()["model"] == "openai/gpt-5-mini"
    assert post(client, body=body).json()["model"] == MODEL


def test_admin_refuses_bad_faults(fresh) -> None:
    url = root_url(fresh) + "/__emulator/faults"
    assert httpx.post(url, json={"model": MODEL, "fault": "explode"}).status_code == 400
    assert httpx.post(url, json={"fault": "429"}).status_code == 400
    assert httpx.post(url, json={"model": MODEL, "fault": "429", "count": 0}).status_code == 400


def test_path_faults_for_the_catalog(client, fresh) -> None:
    arm_fault(fresh, "503", path="/models", count=1)
    assert client.get("/models").status_code == 503
    assert client.get("/models").status_code == 200
    assert client.get("/models/count", headers={"X-Emulator-Fault": "500"}).status_code == 500
    limited = client.get("/credits", headers={"X-Emulator-Fault": "429"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"


def test_hang_never_answers(client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post("/chat/completions", json=BODY, headers={"X-Emulator-Fault": "hang"}, timeout=0.5)
    assert post(client).status_code == 200  # the server is still fine


def test_reset_drops_the_connection_without_a_response(emulator_url) -> None:
    with httpx.Client(base_url=emulator_url, headers={"Authorization": "Bearer k"}, timeout=5) as http:
        with pytest.raises(httpx.TransportError) as caught:
            post(http, "reset")
        assert not isinstance(caught.value, httpx.TimeoutException)
        assert post(http).status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{emulator_url}/models", headers={"X-Emulator-Fault": "reset"})


def test_midstream_error_chunk_then_done(client, fresh) -> None:
    response = post(client, "midstream", body={**BODY, "stream": True})
    assert response.status_code == 200
    transcript = parse_sse(response.text, exact=True)
    assert transcript.order[-1] == "done"
    error_chunk = transcript.chunks[-1]
    assert error_chunk["error"]["code"] == 502 and error_chunk["choices"][0]["finish_reason"] == "error"
    assert_valid(component("ChatStreamChunk"), json.loads(json.dumps(error_chunk, default=float)))
    sent = len(transcript.chunks) - 2  # opening + error chunk
    assert error_chunk["usage"]["completion_tokens"] == sent > 0
    generation = client.get("/generation", params={"id": response.headers["x-generation-id"]}).json()["data"]
    assert generation["finish_reason"] == "error" and generation["tokens_completion"] == sent
    plain = post(client, "midstream")
    assert plain.status_code == 200 and plain.text.startswith("\n")
    assert plain.json()["error"]["code"] == 502


def test_malformed_bodies(client) -> None:
    response = post(client, "malformed")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    stream = post(client, "malformed", body={**BODY, "stream": True})
    assert stream.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        parse_sse(stream.text)


def test_drip_sends_one_byte_at_long_intervals(emulator_url) -> None:
    headers = {"Authorization": "Bearer k", "X-Emulator-Fault": "drip"}
    arrivals: list[tuple[float, int]] = []
    with httpx.stream("POST", f"{emulator_url}/chat/completions", json={**BODY, "stream": True},
                      headers=headers, timeout=5) as response:
        assert response.status_code == 200
        for piece in response.iter_raw():
            arrivals.append((time.monotonic(), len(piece)))
            if len(arrivals) == 4:
                break
    assert all(size == 1 for _, size in arrivals)
    gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert min(gaps) >= 0.1


def test_ttft_and_token_time_from_headers_with_keepalive_comments(client) -> None:
    headers = {"X-Emulator-Ttft-Ms": "350", "X-Emulator-Token-Ms": "20", "X-Emulator-Completion-Tokens": "10"}
    started = time.monotonic()
    first_data = None
    with client.stream("POST", "/chat/completions", json={**BODY, "stream": True}, headers=headers) as response:
        lines = []
        for line in response.iter_lines():
            if line.startswith("data: ") and first_data is None:
                first_data = time.monotonic() - started
            lines.append(line)
    total = time.monotonic() - started
    transcript = parse_sse("\n".join(lines) + "\n")
    assert first_data is not None and first_data >= 0.33
    assert total >= 0.35 + 9 * 0.02 * 0.9
    assert transcript.comments.count(": OPENROUTER PROCESSING") >= 3  # one, then every 100 ms
    assert transcript.chunks[-1]["usage"]["completion_tokens"] == 10


def test_non_stream_latency_sends_whitespace_while_waiting(client) -> None:
    started = time.monotonic()
    response = post(client, X_Emulator_Ttft_Ms="300")
    assert time.monotonic() - started >= 0.29
    padding = response.text[: len(response.text) - len(response.text.lstrip())]
    assert padding.count("\n         \n") >= 3
    generation = client.get("/generation", params={"id": response.headers["x-generation-id"]}).json()["data"]
    assert generation["latency"] >= 290


def test_configured_latency_and_no_padding() -> None:
    with running_emulator(ttft_ms=200, padding=False, generation_delay_ms=0) as base_url:
        with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer k"}, timeout=5) as http:
            started = time.monotonic()
            response = http.post("/chat/completions", json=BODY)
            assert time.monotonic() - started >= 0.19
            assert response.text.startswith("{")
            quick = http.post("/chat/completions", json=BODY, headers={"X-Emulator-Ttft-Ms": "0"})
            assert quick.text.startswith("{")
            stream = http.post("/chat/completions", json={**BODY, "stream": True},
                               headers={"X-Emulator-Ttft-Ms": "0"})
            assert stream.text.startswith("data: ")

