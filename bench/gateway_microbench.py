"""In-process CPU cost of the gateway's per-request work, without HTTP or an upstream.

    uv run python bench/gateway_microbench.py [--requests 20000] [--snapshot FILE]

Builds a snapshot from a real /models snapshot (414 models) and one virtual key with rpm,
tpm and a budget, then times, per request, every step the hot path runs between the bytes
arriving and the bytes leaving (the network and the upstream are not included):

    parse      orjson.loads of the request body
    auth       SHA-256 of the key + snapshot lookup
    validate   check_chat_body
    route      choose_route (strategy, scope, requirements_from_request)
    admit      rpm/tpm buckets
    decide     decide_route (memoised: the same request shape repeats) and, separately, cold
    budget     reserve
    payload    the upstream body for the attempt (orjson.dumps)
    response   orjson.loads of a canned upstream completion + exact cost digits
    record     ledger + decision rows, spool append (a real write(2)), settle, metrics
    stream     relaying a 60-event SSE stream (split, side-parse, usage capture)

Each row prints p50 / p99 / mean in microseconds; "total" is the sum per request of the
non-stream steps (memoised decide). Then the whole handler through FastAPI/Starlette (ASGI
calls with a canned upstream, no sockets, recording included) against a bare handler that
only reads the body and answers bytes. The target this serves: ≤ 1 ms added latency p50
over the upstream alone, of which the HTTP hop itself (server + aiohttp client) takes most.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from minerva_core.virtual_keys import hash_key  # noqa: E402
from proxy.gateway.admission import AdmissionControl  # noqa: E402
from proxy.gateway.attempts import upstream_payload  # noqa: E402
from proxy.gateway.auth import authenticate  # noqa: E402
from proxy.gateway.build import build_snapshot  # noqa: E402
from proxy.gateway.exchange import Exchange  # noqa: E402
from proxy.gateway.metrics import GatewayMetrics  # noqa: E402
from proxy.gateway.recording import Recorder, cost_digits  # noqa: E402
from proxy.gateway.route import choose_route, decide_route  # noqa: E402
from proxy.gateway.spool import FastSpool  # noqa: E402
from proxy.gateway.state import SnapshotRows  # noqa: E402
from proxy.gateway.streaming import EventSplitter, StreamRelay  # noqa: E402
from proxy.gateway.upstream import parse_completion  # noqa: E402
from proxy.gateway.validation import check_chat_body  # noqa: E402

SNAPSHOT = ROOT / "tests/fixtures/openrouter/models-2026-08-19.json"
MODEL = "openai/gpt-4o-mini"
KEY = "mk-benchmark-key-000000000000000000000000"


def rows_from_openrouter(path: Path) -> SnapshotRows:
    models = []
    for m in json.loads(path.read_text())["data"]:
        pricing = m.get("pricing") or {}
        arch = m.get("architecture") or {}
        variable = pricing.get("prompt") == "-1"
        models.append({
            "id": m["id"], "upstream_provider": m["id"].split("/")[0], "context_length": m.get("context_length"),
            "max_completion_tokens": (m.get("top_provider") or {}).get("max_completion_tokens"),
            "input_modalities": arch.get("input_modalities"), "output_modalities": arch.get("output_modalities"),
            "supported_parameters": m.get("supported_parameters") or [], "status": "active",
            "is_variable_price": variable,
            "prompt": None if variable else Decimal(pricing["prompt"]),
            "completion": None if variable else Decimal(pricing["completion"]),
            "request": None if variable else Decimal(pricing.get("request", "0")), "pricing_raw": pricing,
        })
    key = {"id": "00000000-0000-0000-0000-00000000000b", "name": "bench", "key_hash": hash_key(KEY),
           "rpm_limit": 10**9, "tpm_limit": 10**12, "budget_usd": Decimal("1000000"), "budget_period": "month"}
    return SnapshotRows(models=models, keys=[key], strategies=[])


BODY = orjson.dumps({
    "model": MODEL, "max_tokens": 256, "temperature": 0.2,
    "messages": [{"role": "system", "content": "You are a helpful assistant."},
                 {"role": "user", "content": "Summarise the plot of Hamlet in three sentences."}],
})
UPSTREAM = orjson.dumps({
    "id": "gen-1760000000-abcdefghijklmnopqrst", "provider": "OpenAI", "model": MODEL,
    "object": "chat.completion", "created": 1760000000,
    "choices": [{"logprobs": None, "finish_reason": "stop", "native_finish_reason": "stop", "index": 0,
                 "message": {"role": "assistant", "content": "Hamlet " * 60, "refusal": None, "reasoning": None}}],
    "usage": {"prompt_tokens": 31, "completion_tokens": 120, "total_tokens": 151, "cost": 0.00007665,
              "is_byok": False, "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0}},
})


def stream_events() -> list[bytes]:
    head = b'{"id":"gen-1","provider":"OpenAI","model":"' + MODEL.encode() + b'","object":"chat.completion.chunk"'
    piece = head + b',"choices":[{"index":0,"delta":{"role":"assistant","content":" word"},"finish_reason":null}]}'
    events = [b"data: " + piece + b"\n\n"] * 58
    events.append(b"data: " + head + b',"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
    events.append(b"data: " + head + b',"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":58,'
                  b'"cost":0.0000394}}\n\ndata: [DONE]\n\n')
    return events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    args = parser.parse_args()

    started = time.perf_counter()
    snapshot = build_snapshot(rows_from_openrouter(args.snapshot))
    build_ms = (time.perf_counter() - started) * 1000
    admission = AdmissionControl()
    metrics = GatewayMetrics()
    tmp = tempfile.TemporaryDirectory()
    spool = FastSpool(Path(tmp.name))

    class SpoolWriter:  # what the recorder needs of a ledger: its spool
        pass

    writer = SpoolWriter()
    writer.spool = spool  # type: ignore[attr-defined]
    recorder = Recorder(writer, admission, metrics)
    header = f"Bearer {KEY}"
    steps = ["parse", "auth", "validate", "route", "admit", "decide", "budget", "payload", "response", "record"]
    times: dict[str, list[float]] = {s: [] for s in [*steps, "total", "decide (cold)", "stream (60 events)"]}
    stream = stream_events()
    stream_bytes = b"".join(stream)
    chunks = [stream_bytes[i:i + 1400] for i in range(0, len(stream_bytes), 1400)]
    today = datetime.now(timezone.utc).date()

    def one(measure: bool) -> None:
        t = time.perf_counter
        t0 = t()
        body = orjson.loads(BODY)
        t1 = t()
        now = datetime.now(timezone.utc)
        key = authenticate(snapshot, header, now)
        t2 = t()
        check_chat_body(body, max_tokens_limit=1_000_000)
        t3 = t()
        choice = choose_route(snapshot, body, key, default_max_tokens=1024)
        t4 = t()
        admission.try_admit(key, choice.estimated_tokens)
        t5 = t()
        decision = decide_route(snapshot, choice, cooling=frozenset(), today=today, cache_size=4096)
        t6 = t()
        held = admission.reserve(key, decision.estimated_cost, now)
        t7 = t()
        upstream_payload(body, decision.selected_model, {decision.selected_model}, False)
        t8 = t()
        parsed = parse_completion(UPSTREAM, MODEL)
        ex = Exchange(request_id="req-x", created_at=now, started=t0, route="chat", key=key, model_requested=MODEL,
                      strategy=choice.strategy, decision=decision, held=held,
                      estimated_tokens=choice.estimated_tokens, admitted_tokens=choice.estimated_tokens)
        ex.attempts.append({"model": MODEL, "status": 200, "error": None, "latency_ms": 1.0})
        ex.attempted_model = MODEL
        ex.usage, ex.cost_text = parsed["usage"], cost_digits(UPSTREAM)
        ex.model_used, ex.generation_id = parsed["model"], parsed["id"]
        t9 = t()
        recorder.finish(ex, snapshot.prices)
        t10 = t()
        if measure:
            marks = [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10]
            for name, a, b in zip(steps, marks, marks[1:]):
                times[name].append((b - a) * 1e6)
            times["total"].append((t10 - t0) * 1e6)

    for _ in range(500):
        one(False)
    gc.collect()
    for i in range(args.requests):
        one(True)
        if i % 2000 == 1999:
            spool.rotate()
    body = orjson.loads(BODY)
    key = authenticate(snapshot, header, datetime.now(timezone.utc))
    for _ in range(min(args.requests, 2000)):
        snapshot.decisions.clear()
        choice = choose_route(snapshot, body, key, default_max_tokens=1024)
        t0 = time.perf_counter()
        decide_route(snapshot, choice, cooling=frozenset(), today=today, cache_size=4096)
        times["decide (cold)"].append((time.perf_counter() - t0) * 1e6)
    for _ in range(min(args.requests, 2000)):
        relay = StreamRelay(Exchange(request_id="s", created_at=datetime.now(timezone.utc), started=0.0,
                                     route="chat", stream=True), None, EventSplitter(), [], [], lambda e: None)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        for chunk in chunks:
            relay.process(relay.splitter.feed(chunk))  # noqa: B018
        times["stream (60 events)"].append((time.perf_counter() - t0) * 1e6)
    tmp.cleanup()

    print(f"snapshot: {len(snapshot.catalog.models)} models, build {build_ms:.0f} ms; Python "
          f"{platform.python_version()} on {platform.machine()}; {args.requests:,} requests\n")
    print(f"{'step':<22}{'p50 µs':>10}{'p99 µs':>10}{'mean µs':>10}")
    print("-" * 52)
    for name, values in times.items():
        values.sort()
        p50 = values[len(values) // 2]
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{name:<22}{p50:>10.1f}{p99:>10.1f}{statistics.fmean(values):>10.1f}")
    total = sorted(times["total"])[len(times["total"]) // 2]
    record = sorted(times["record"])[len(times["record"]) // 2]
    print(f"\nper request (non-stream, memoised decide): p50 {total:.0f} µs of gateway logic, of which "
          f"{total - record:.0f} µs before the response and {record:.0f} µs recording after it (deferred);"
          f"\nthe HTTP server, the upstream client and the network come on top (see the whole-handler "
          f"figures below and bench/proxy_overhead.py)")


class _FakeResponse:
    status = 200
    headers: dict = {}

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self) -> bytes:
        return self._body

    def close(self) -> None:
        pass

    release = close


class _FakeUpstream:
    """Answers every attempt with the canned completion, at once (no socket)."""

    async def send(self, body, headers, first_byte_timeout, model):
        return _FakeResponse(UPSTREAM)

    async def read_body(self, response, timeout, model):
        return await response.read()

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


def asgi_run(n: int) -> None:
    """The whole handler through FastAPI/Starlette (ASGI calls, no sockets, canned upstream),
    against a bare handler in the same app that only reads the body and answers bytes."""
    import asyncio

    from fastapi import FastAPI
    from starlette.responses import Response
    from starlette.routing import Route

    from minerva_core.settings import load_settings
    from proxy.gateway import GatewayConfig, install_gateway
    from proxy.gateway.reload import SnapshotStore

    tmp = tempfile.TemporaryDirectory()
    app = FastAPI()
    settings = load_settings(environ={"MINERVA_HOME": tmp.name})
    gw = install_gateway(app, settings, config=GatewayConfig(ledger_enabled=False))

    async def bare(request):
        await request.body()
        return Response(UPSTREAM, media_type="application/json")

    app.router.routes.append(Route("/bare", bare, methods=["POST"]))
    gw.upstream = _FakeUpstream()
    spool = FastSpool(Path(tmp.name))

    class SpoolWriter:
        pass

    writer = SpoolWriter()
    writer.spool = spool  # type: ignore[attr-defined]
    gw.recorder.writer = writer
    gw.recorder.delay = 0  # recorded inside the measured call
    store = SnapshotStore(None, None, gw.config, gw._on_swap)  # type: ignore[arg-type]
    store.snapshot = build_snapshot(rows_from_openrouter(SNAPSHOT))
    gw.store, gw.started = store, True

    def scope(path: str) -> dict:
        return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                "root_path": "", "server": ("127.0.0.1", 4000), "client": ("127.0.0.1", 5555),
                "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                            (b"authorization", f"Bearer {KEY}".encode()),
                            (b"content-length", str(len(BODY)).encode())], "state": {}}

    async def call(path: str) -> int:
        sent = []
        messages = [{"type": "http.request", "body": BODY, "more_body": False}]

        async def receive():
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        await app(scope(path), receive, send)
        return sent[0]["status"]

    async def run() -> None:
        for path in ("/bare", "/v1/chat/completions"):
            for _ in range(300):
                assert await call(path) == 200
            samples = []
            for _ in range(n):
                t0 = time.perf_counter()
                await call(path)
                samples.append((time.perf_counter() - t0) * 1e6)
            samples.sort()
            print(f"{'ASGI ' + path:<30}{samples[len(samples) // 2]:>10.1f}"
                  f"{samples[int(len(samples) * 0.99)]:>10.1f}{statistics.fmean(samples):>10.1f}")

    print(f"\n{'whole handler (no sockets)':<30}{'p50 µs':>10}{'p99 µs':>10}{'mean µs':>10}")
    print("-" * 60)
    asyncio.run(run())
    tmp.cleanup()


if __name__ == "__main__":
    main()
    asgi_run(int(sys.argv[sys.argv.index("--requests") + 1]) if "--requests" in sys.argv else 5000)
