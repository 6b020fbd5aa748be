"""The fallback loop: candidates = the decision's selected model, then its fallbacks.

An attempt fails over to the next candidate at once (no sleeps) when, before the first byte
reached the client, the upstream answered 429, 5xx or 408, a context-length error, timed
out (connect, first byte, or the total deadline), dropped or reset the connection, or sent a
body that breaks the protocol. Any other 4xx is the client's problem and goes back as it is
(401/402 are Minerva's upstream account failing, answered 502). Each attempt is recorded
(model, status, error type, latency); failures other than context length count towards
the model's cooldown, so a model failing repeatedly is skipped by every request for a while.

The first-byte timeout covers the response headers (and, for a stream, the first SSE data
event; for a non-stream answer, the body from its first non-padding byte to its end); a
request may lower it with ``X-Minerva-First-Byte-Timeout-Ms``. The total
deadline bounds all attempts together.
"""

from __future__ import annotations

import time
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from minerva_core.errors import (
    ContextLengthExceeded,
    RateLimited,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from minerva_core.providers.error_mapping import error_fields
from proxy.gateway.exchange import Exchange
from proxy.gateway.responses import UpstreamApiError
from proxy.gateway.streaming import EventSplitter, first_events
from proxy.gateway.upstream import parse_completion

log = logging.getLogger(__name__)

_STATUS_TYPES = {400: "invalid_request_error", 403: "permission_error", 404: "not_found_error",
                 408: "timeout", 409: "conflict_error", 413: "invalid_request_error",
                 422: "invalid_request_error", 429: "rate_limit_error"}


@dataclass(slots=True)
class Served:
    model: str
    response: aiohttp.ClientResponse
    body: bytes | None = None  # non-stream: the body as received, keep-alive padding removed
    parsed: dict[str, Any] | None = None
    splitter: EventSplitter | None = None  # stream: the open relay state
    pending: list[bytes] | None = None


class AttemptsFailed(Exception):
    def __init__(self, error: UpstreamError, final: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.final = final  # a non-retryable answer (not every candidate was tried)


def retryable(error: UpstreamError) -> bool:
    return error.retryable or isinstance(error, ContextLengthExceeded)


def upstream_payload(body: dict[str, Any], model: str, tried: set[str], stream: bool) -> bytes:
    """The body for one attempt: ``model`` set to the candidate; OpenRouter's ``models[]``
    kept as the untried rest of the client's chain (so the upstream can fall back within
    it too); Minerva's ``minerva{}`` extras removed; ``include_usage`` forced on streams."""
    out = dict(body)
    out["model"] = model
    out.pop("minerva", None)
    chain = body.get("models")
    if chain:
        rest = [m for m in chain if m != model and m not in tried]
        if rest:
            out["models"] = [model, *rest]
        else:
            out.pop("models", None)
    if stream:
        out["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return orjson.dumps(out)


def _attempt_record(model: str, started: float, status: int | None, error: UpstreamError | None,
                    arrived: float) -> dict[str, Any]:
    """``started_ms``: when the attempt began, counted from the request's arrival (so the
    gap between one attempt's end and the next one's start can be read from the ledger)."""
    return {
        "model": model,
        "status": status,
        "error": None if error is None else type(error).__name__,
        "error_type": getattr(error, "error_type", None),
        "started_ms": round((started - arrived) * 1000, 1),
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


async def run_attempts(gw: Any, ex: Exchange, body: dict[str, Any], candidates: list[str],
                       headers: dict[str, str], first_byte_timeout: float, deadline: float) -> Served:
    """Try candidates in order; return the first that answers, or raise AttemptsFailed."""
    upstream, cooldowns, metrics = gw.upstream, gw.cooldowns, gw.metrics
    tried: set[str] = set()
    last: UpstreamError | None = None
    for model in candidates:
        now = time.perf_counter()
        remaining = deadline - now
        if remaining <= 0:
            last = UpstreamTimeout("the request's total deadline passed before a model answered", model=model)
            break
        if tried and model in gw.cooling(time.monotonic()):
            ex.attempts.append({"model": model, "status": None, "error": "skipped", "error_type": "cooling_down",
                                "latency_ms": 0})
            continue
        tried.add(model)
        ex.attempted_model = model
        payload = upstream_payload(body, model, tried, ex.stream)
        try:
            first_byte_by = now + min(first_byte_timeout, remaining)
            response = await upstream.send(payload, headers, first_byte_by - now, model)
            if ex.stream:
                splitter = EventSplitter()
                pending = await first_events(response, splitter, first_byte_by - time.perf_counter(), model, ex)
                served = Served(model, response, splitter=splitter, pending=pending)
            else:
                raw = await upstream.read_body(response, deadline - time.perf_counter(), model,
                                               body_timeout=first_byte_timeout)
                raw = raw.lstrip()
                served = Served(model, response, body=raw, parsed=parse_completion(raw, model))
        except UpstreamError as error:
            ex.upstream_s += time.perf_counter() - now
            ex.attempts.append(_attempt_record(model, now, getattr(error, "status_code", None), error, ex.started))
            metrics.attempt(model, type(error).__name__)
            # Type and status only: an upstream's message is its text, not ours to log.
            log.info("request %s: %s failed upstream with %s (status %s)", ex.request_id, model,
                     type(error).__name__, getattr(error, "status_code", None))
            last = error
            if not retryable(error):
                raise AttemptsFailed(error, final=True) from None
            if not isinstance(error, ContextLengthExceeded):
                cooldowns.record_failure(model, time.monotonic())
            metrics.fallback(type(error).__name__)
            continue
        ex.upstream_s += time.perf_counter() - now
        ex.attempts.append(_attempt_record(model, now, response.status, None, ex.started))
        ex.fallback_depth = len(ex.attempts) - 1
        metrics.attempt(model, "ok")
        if cooldowns.failures:
            cooldowns.record_success(model)
        ex.generation_id = ex.generation_id or response.headers.get("x-generation-id")
        return served
    if last is None:
        last = UpstreamError("every candidate model is cooling down")
    raise AttemptsFailed(last, final=False)


def client_error(error: UpstreamError, attempts: int) -> tuple[UpstreamApiError, str, str]:
    """What the client gets when the loop failed, and the ledger's (status, error_type)."""
    kind = type(error).__name__
    if isinstance(error, UpstreamStatusError):
        message, _ = error_fields(error.body)
        message = message or str(error)
        status = error.status_code
        if isinstance(error, ContextLengthExceeded):
            return (UpstreamApiError(message, status=400, error_type="invalid_request_error",
                                     code="context_length_exceeded"), "error", "context_length_exceeded")
        if isinstance(error, RateLimited):
            return (UpstreamApiError(f"every candidate model is rate-limited upstream ({attempts} tried): {message}",
                                     status=429, error_type="rate_limit_error", code="upstream_rate_limited",
                                     retry_after=error.retry_after or 1),
                    "rate_limited", "upstream_rate_limited")
        if status in (401, 402):
            code = "upstream_authentication_failed" if status == 401 else "upstream_insufficient_credits"
            return (UpstreamApiError(f"Minerva's upstream account was refused (HTTP {status}): {message}",
                                     status=502, error_type="upstream_error", code=code), "error", code)
        if status < 500 and status != 408:
            return (UpstreamApiError(message, status=status, error_type=_STATUS_TYPES.get(status, "invalid_request_error"),
                                     code=error.error_type or f"upstream_{status}"), "error", f"upstream_{status}")
        return (UpstreamApiError(f"every candidate model failed ({attempts} tried); last: {message}", status=502,
                                 error_type="upstream_error", code="upstream_error"), "error", kind)
    if isinstance(error, UpstreamTimeout):
        return (UpstreamApiError(f"the upstream did not answer in time ({attempts} tried): {error}", status=504,
                                 error_type="timeout", code="upstream_timeout"), "timeout", kind)
    return (UpstreamApiError(f"every candidate model failed ({attempts} tried); last: {error}", status=502,
                             error_type="upstream_error", code="upstream_error"), "error", kind)


__all__ = ["AttemptsFailed", "Served", "client_error", "retryable", "run_attempts", "upstream_payload"]
