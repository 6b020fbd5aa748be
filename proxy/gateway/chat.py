"""POST /v1/chat/completions (virtual key) and the admin proxy path (admin token): the hot
path, step by step. Each step is a call into a small module; nothing here touches the
database (the snapshot is in memory, the ledger goes to the local spool).

    1. body size (413), key or admin token (401/403), JSON and shape (400)
    2. route: model/alias/auto -> strategy, key's allowed models (403/404), requirements
    3. admission: rpm/tpm (429, or wait in the key's queue)          -- recorded from here on
    4. decide (memoised), budget reservation (402)
    5. attempts with fallbacks, then the response: bytes as received (non-stream) or a relay
    6. the ledger rows, a moment after the response (recording.Recorder.defer)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from minerva_core.errors import ApiError, InvalidParameterError, ServiceUnavailableError
from proxy.gateway.attempts import AttemptsFailed, Served, client_error, run_attempts
from proxy.gateway.auth import authenticate, check_admin
from proxy.gateway.config import FIRST_BYTE_TIMEOUT_HEADER
from proxy.gateway.exchange import Exchange
from proxy.gateway.flags import direct_route
from proxy.gateway.recording import cost_digits
from proxy.gateway.responses import (
    JSON,
    BudgetExceededError,
    NoRouteApiError,
    PayloadTooLargeError,
    RateLimitError,
    api_error_response,
)
from proxy.gateway.route import choose_route, decide_route
from proxy.gateway.streaming import StreamRelay
from proxy.gateway.validation import check_chat_body


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the request body is over the limit of {limit} bytes")
    if declared is not None:
        return await request.body()
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the request body is over the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidParameterError("the request body is not valid JSON", code="invalid_json", param=None) from None


def _first_byte_timeout(request: Request, configured: float) -> float:
    value = request.headers.get(FIRST_BYTE_TIMEOUT_HEADER)
    if value and value.isdigit():
        return min(configured, max(int(value), 1) / 1000)
    return configured


async def chat_completion(gw: Any, request: Request, *, admin: bool, direct: bool = False) -> Response:
    """``direct``: routing is switched off (proxy.gateway.flags): the named model only."""
    started = time.perf_counter()
    cfg = gw.config
    snapshot = gw.snapshot
    now = datetime.now(UTC)
    try:
        if snapshot is None:
            raise ServiceUnavailableError("the model catalog is not loaded yet; retry shortly", code="catalog_not_loaded")
        header = request.headers.get("authorization")
        if admin:
            check_admin(header, gw.admin_token)
            key = None
        else:
            key = authenticate(snapshot, header, now)
        body = parse_json(await read_body(request, cfg.max_body_bytes))
        check_chat_body(body, max_tokens_limit=cfg.max_tokens_limit)
        if direct:
            body, choice = direct_route(gw.flags, snapshot, body, key, default_max_tokens=cfg.default_max_tokens)
        else:
            choice = choose_route(snapshot, body, key, default_max_tokens=cfg.default_max_tokens)
    except ApiError as exc:
        return api_error_response(exc)

    stream = body.get("stream") is True
    chain = body.get("models")
    ex = Exchange(
        request_id=gw.new_request_id(), created_at=now, started=started,
        route="admin" if admin else "chat", key=key,
        model_requested=body.get("model") or (chain[0] if chain else None), strategy=choice.strategy,
        stream=stream, include_usage=stream and (body.get("stream_options") or {}).get("include_usage") is True,
        estimated_tokens=choice.estimated_tokens,
    )
    prices = snapshot.prices
    try:
        if key is not None:
            ex.queued_s = await gw.admission.admit(key, ex.estimated_tokens)
            ex.admitted_tokens = ex.estimated_tokens
        mono = time.monotonic()
        ex.decision = decision = decide_route(
            snapshot, choice, cooling=frozenset() if direct else gw.cooling(mono), today=now.date(),
            cache_size=cfg.decision_cache_size, cooldown_left=gw.cooldown_left(mono),
        )
        if key is not None:
            ex.held = await gw.admission.areserve(key, decision.estimated_cost, now)
    except RateLimitError as exc:
        ex.fail("rate_limited", exc.code, 429)
        return _refused(gw, ex, exc, prices)
    except NoRouteApiError as exc:
        ex.outcome = "no_candidate"
        ex.fail("error", exc.code, exc.status_code)
        return _refused(gw, ex, exc, prices)
    except BudgetExceededError as exc:
        ex.fail("error", "budget_exceeded", 402)
        return _refused(gw, ex, exc, prices)

    forward = gw.forward_headers
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"] if k in forward}
    timeout = _first_byte_timeout(request, cfg.first_byte_timeout_s)
    try:
        served = await run_attempts(gw, ex, body, [decision.selected_model, *decision.fallback_models], headers,
                                    timeout, time.perf_counter() + cfg.total_deadline_s)
    except AttemptsFailed as failure:
        error, status, error_type = client_error(failure.error, len(ex.attempts))
        ex.fail(status, error_type, error.status_code)
        return _refused(gw, ex, error, prices)
    if stream:
        return _relay(gw, ex, served, prices)
    return _completion(gw, ex, served, prices)


def _response_headers(ex: Exchange) -> dict[str, str]:
    out = {"x-request-id": ex.request_id, "x-minerva-fallback-depth": str(ex.fallback_depth)}
    if ex.queued_s:
        out["x-minerva-queued-ms"] = str(round(ex.queued_s * 1000))
    if ex.attempted_model:
        out["x-minerva-model"] = ex.attempted_model
    if ex.generation_id:
        out["x-generation-id"] = ex.generation_id
    return out


def _refused(gw: Any, ex: Exchange, exc: ApiError, prices: Any) -> Response:
    gw.recorder.defer(ex, prices)
    return api_error_response(exc, {"x-request-id": ex.request_id})


def _completion(gw: Any, ex: Exchange, served: Served, prices: Any) -> Response:
    parsed = served.parsed or {}
    ex.usage = parsed.get("usage") if isinstance(parsed.get("usage"), dict) else None
    if ex.usage is not None:
        ex.cost_text = cost_digits(served.body or b"")
    ex.generation_id = parsed.get("id") or ex.generation_id
    ex.model_used = parsed.get("model")
    ex.provider = parsed.get("provider")
    choices = parsed.get("choices") or ()
    if choices and isinstance(choices[0], dict):
        ex.finish_reason = choices[0].get("finish_reason")
    ex.http_status = 200
    ex.first_byte_at = time.perf_counter()
    response = Response(served.body, media_type=JSON, headers=_response_headers(ex))
    gw.recorder.defer(ex, prices)
    return response


def _relay(gw: Any, ex: Exchange, served: Served, prices: Any) -> StreamRelay:
    ex.http_status = 200
    headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
               (b"x-accel-buffering", b"no")]
    headers += [(k.encode(), v.encode()) for k, v in _response_headers(ex).items()]
    assert served.splitter is not None and served.pending is not None
    return StreamRelay(ex, served.response, served.splitter, served.pending, headers,
                       lambda done: gw.recorder.defer(done, prices))


__all__ = ["chat_completion", "parse_json", "read_body"]
