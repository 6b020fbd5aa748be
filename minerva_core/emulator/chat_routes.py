"""POST /chat/completions: read, plan, answer (stream or not, or a fault), record."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from minerva_core.emulator.auth import authenticate
from minerva_core.emulator.chat_request import ChatError, parse_chat_request
from minerva_core.emulator.fault_responses import Hang, Reset, chat_error_response, dripping, malformed
from minerva_core.emulator.generations import Generation
from minerva_core.emulator.guard import requested_fault
from minerva_core.emulator.jsonbody import bytes_response, dumps, error_body, error_response
from minerva_core.emulator.live import ChunkedOnce, LiveResponse
from minerva_core.emulator.planner import ChatPlan, plan_chat
from minerva_core.emulator.render import PADDING, PROCESSING, SSE_DONE, ChunkWriter, completion_json
from minerva_core.emulator.state import EmulatorState
from minerva_core.emulator.streaming import Progress, Timing, padded_body, sse_stream

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def chat_completions(request: Request) -> Any:
    state: EmulatorState = request.app.state.emulator
    key = authenticate(request, state.config.require_key)
    if isinstance(key, Response):
        return key
    fault = requested_fault(request)
    if isinstance(fault, Response):
        return fault
    try:
        body = orjson.loads(await request.body())
        timing = _timing(request, state)
        reply_tokens = _header_int(request, "x-emulator-completion-tokens")
    except (orjson.JSONDecodeError, ValueError) as exc:
        return error_response(400, f"Invalid request: {exc}")
    now = datetime.now(timezone.utc)
    try:
        chat = parse_chat_request(body)
        plan = plan_chat(chat, state.plan, at=now, fault=fault, reply_tokens=reply_tokens)
    except ChatError as error:
        return chat_error_response(error)
    generation_id = f"gen-{int(now.timestamp())}-{state.new_id()}"
    headers = {"X-Generation-Id": generation_id}
    if plan.wire_fault == "hang":
        return Hang()
    if plan.wire_fault == "reset":
        return Reset(state.connections)
    progress = Progress(started=time.monotonic())
    meta = _request_meta(request, key)

    def record(cancelled: bool) -> None:
        _record(state, plan, generation_id, now, progress, cancelled, meta)

    created = int(now.timestamp())
    if chat.stream:
        return _stream(plan, generation_id, created, timing, progress, headers, record, state)
    answer = dumps(completion_json(plan, generation_id, created))
    prefix = PADDING if timing.padding else b""
    if plan.wire_fault == "malformed":
        return malformed(prefix, answer, "application/json")
    if plan.wire_fault == "drip":
        return dripping(prefix + answer, state.config.drip_ms / 1000, "application/json", headers)
    if plan.wire_fault == "midstream":  # the provider failed after OpenRouter sent 200 + padding
        answer = dumps(error_body(502, "Provider returned error", {"provider_name": plan.endpoint.provider_name}))
        return LiveResponse(padded_body(answer, plan, timing, progress), headers=headers)
    if timing.ttft_s == 0 and timing.token_s == 0:
        progress.mark_first_token()
        progress.sent, progress.completed = len(plan.pieces), True
        record(False)
        return bytes_response(prefix + answer, headers=headers)
    return LiveResponse(padded_body(answer, plan, timing, progress), headers=headers, on_end=record)


def _stream(
    plan: ChatPlan, generation_id: str, created: int, timing: Timing, progress: Progress,
    headers: dict[str, str], record: Any, state: EmulatorState,
) -> Any:
    writer = ChunkWriter(plan, generation_id, created)
    sse_headers = {**headers, **SSE_HEADERS}
    if plan.wire_fault == "malformed":
        broken = f'data: {{"id":"{generation_id}","choices":[{{"index":0,"delta":{{"content":"'.encode()
        return Response((PROCESSING if timing.padding else b"") + writer.opening() + broken + b"\n\n" + SSE_DONE,
                        media_type="text/event-stream", headers=sse_headers)
    if plan.wire_fault == "drip":
        data = writer.whole(PROCESSING if timing.padding else b"")
        return dripping(data, state.config.drip_ms / 1000, "text/event-stream", sse_headers)
    if timing.ttft_s == 0 and timing.token_s == 0 and plan.wire_fault is None:
        body = writer.whole(PROCESSING if timing.padding else b"")
        progress.mark_first_token()
        progress.sent, progress.completed = len(plan.pieces), True
        record(False)
        return ChunkedOnce(body, media_type="text/event-stream", headers=sse_headers)
    return LiveResponse(sse_stream(plan, writer, timing, progress), media_type="text/event-stream",
                        headers=sse_headers, on_end=record)


def _record(
    state: EmulatorState, plan: ChatPlan, generation_id: str, now: datetime,
    progress: Progress, cancelled: bool, meta: dict[str, Any],
) -> None:
    if plan.wire_fault == "midstream" and not plan.request.stream:
        return  # no completion was delivered
    if progress.errored:
        sent, finish, cancelled = progress.sent, "error", False
    elif progress.completed and not cancelled:
        sent, finish = None, plan.finish_reason
    else:
        sent, finish, cancelled = progress.sent, None, True
    usage = plan.usage(sent)
    cost = plan.cost(usage)
    upstream_id = "chatcmpl-" + state.new_id(24)
    latency = progress.latency_ms()
    responses = [
        {"endpoint_id": a.endpoint.endpoint_id, "is_byok": False, "latency": 0,
         "model_permaslug": a.model.permaslug, "provider_name": a.endpoint.provider_name, "status": a.status}
        for a in plan.attempts
    ]
    responses.append({"endpoint_id": plan.endpoint.endpoint_id, "id": upstream_id, "is_byok": False,
                      "latency": latency or 0, "model_permaslug": plan.model.permaslug,
                      "provider_name": plan.endpoint.provider_name, "status": 200})
    state.record(
        Generation(
            id=generation_id, request_id="req-" + state.new_id(), upstream_id=upstream_id,
            created_at=now, model_id=plan.model.id, permaslug=plan.model.permaslug, router=plan.router,
            provider_name=plan.endpoint.provider_name, endpoint_id=plan.endpoint.endpoint_id,
            api_key=meta["key"], streamed=plan.request.stream, cancelled=cancelled, finish_reason=finish,
            usage=usage, cost=cost, cache_discount=plan.cache_discount(usage, cost), latency_ms=latency,
            generation_time_ms=progress.elapsed_ms(), media=plan.media, provider_responses=tuple(responses),
            user=plan.request.user, origin=meta["origin"], user_agent=meta["user_agent"],
            http_referer=meta["referer"],
        )
    )


def _timing(request: Request, state: EmulatorState) -> Timing:
    config = state.config
    ttft = _header_int(request, "x-emulator-ttft-ms")
    token = _header_int(request, "x-emulator-token-ms")
    return Timing(
        ttft_s=(config.ttft_ms if ttft is None else ttft) / 1000,
        token_s=(config.token_ms if token is None else token) / 1000,
        keepalive_s=config.keepalive_ms / 1000,
        padding=config.padding,
    )


def _header_int(request: Request, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None or value == "":
        return None
    number = int(value)
    if number < 0:
        raise ValueError(f"{name} must be >= 0")
    return number


def _request_meta(request: Request, key: str) -> dict[str, Any]:
    referer = request.headers.get("http-referer") or request.headers.get("referer")
    return {"key": key, "origin": referer or "", "referer": referer,
            "user_agent": request.headers.get("user-agent")}


routes = [Route("/api/v1/chat/completions", chat_completions, methods=["POST"])]
