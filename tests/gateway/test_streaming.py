"""Streams after the first byte: an upstream error chunk passes through, an upstream that
dies or goes silent ends the stream with an error chunk and [DONE] (never a hang), and a
client that leaves is recorded as cancelled."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
import orjson

from tests.gateway import support
from tests.gateway.support import A, rows_for, wait_for

BODY = {"model": A, "messages": [{"role": "user", "content": "stream please"}], "stream": True}


def _stream(url: str, key: str, headers: dict | None = None, body: dict = BODY) -> tuple[httpx.Response, str]:
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {key}", **(headers or {})}) as response:
        text = "".join(response.iter_text())
    return response, text


def _data_events(text: str) -> list[str]:
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


def test_midstream_error_chunk_is_passed_through(gw_url, api_key, gw_engine) -> None:
    response, text = _stream(gw_url, api_key, {"X-Emulator-Fault": "midstream"})
    events = _data_events(text)
    assert events[-1] == "[DONE]"
    error = orjson.loads(events[-2])
    assert error["error"]["code"] == 502
    row, decision = rows_for(gw_engine, response.headers["x-request-id"])
    assert row["status"] == "error" and row["error_type"] == "provider_unavailable"
    assert row["http_status"] == 502 and decision["outcome"] == "error"
    assert row["completion_tokens"] > 0  # the error chunk's usage is recorded


def test_client_disconnect_is_recorded_as_cancelled(gw_url, api_key, gw_engine) -> None:
    with httpx.stream("POST", f"{gw_url}/v1/chat/completions", json=BODY, timeout=30,
                      headers={"Authorization": f"Bearer {api_key}", "X-Emulator-Token-Ms": "200"}) as response:
        request_id = response.headers["x-request-id"]
        for chunk in response.iter_bytes():
            if b"data: {" in chunk:
                break
    # the connection is closed here, mid-stream
    row, decision = rows_for(gw_engine, request_id)
    assert row["status"] == "cancelled" and decision["outcome"] == "cancelled"
    assert row["latency_ms"] < 5000


# -- an upstream that breaks after the first event -------------------------------------------
FIRST = (b'data: {"id":"gen-x","model":"' + A.encode() + b'","object":"chat.completion.chunk",'
         b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n')


@contextmanager
def broken_upstream(mode: str) -> Iterator[str]:
    """HTTP/1.1 200 text/event-stream, one data event, then: 'close' (EOF, no [DONE]) or
    'silent' (the connection stays open, nothing more)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
                         b": OPENROUTER PROCESSING\n\n" + FIRST)
            if mode == "close":
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/api/v1"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


def _broken_gateway_request(mode: str, gw_db_url, gw_engine, tmp_path, **config) -> tuple[httpx.Response, str, float]:
    with broken_upstream(mode) as upstream_url:
        settings = support.settings_for(gw_db_url, upstream_url, tmp_path)
        app = support.build_app(settings, support.test_config(tmp_path, **config))
        key = support.new_key(gw_engine, f"broken-{mode}")[0]
        with support.serve(app) as url:
            started = time.perf_counter()
            response, text = _stream(url, key)
            elapsed = time.perf_counter() - started
            wait_for(lambda: support.ledger(gw_engine, response.headers["x-request-id"]))
    return response, text, elapsed


def test_upstream_dying_after_the_first_byte_ends_with_an_error_chunk(gw_db_url, gw_engine, tmp_path) -> None:
    response, text, _ = _broken_gateway_request("close", gw_db_url, gw_engine, tmp_path)
    events = _data_events(text)
    assert '"Hel"' in events[0]
    assert orjson.loads(events[-2])["error"]["type"] == "upstream_error"
    assert events[-1] == "[DONE]"
    row = support.ledger(gw_engine, response.headers["x-request-id"])
    assert row["status"] == "error" and row["streamed"] is True


def test_upstream_going_silent_ends_with_an_error_chunk_not_a_hang(gw_db_url, gw_engine, tmp_path) -> None:
    response, text, elapsed = _broken_gateway_request("silent", gw_db_url, gw_engine, tmp_path,
                                                      read_idle_timeout_s=0.5)
    events = _data_events(text)
    assert orjson.loads(events[-2])["error"]["type"] == "upstream_error" and events[-1] == "[DONE]"
    assert elapsed < 5
    row = support.ledger(gw_engine, response.headers["x-request-id"])
    assert row["status"] == "timeout"
