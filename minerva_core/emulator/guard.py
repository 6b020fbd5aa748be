"""Faults for the non-chat routes: a header or an armed path fault replaces the answer."""

from __future__ import annotations

from functools import wraps
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from minerva_core.emulator.fault_responses import Hang, Reset, dripping, malformed
from minerva_core.emulator.faults import FAULT_KINDS, STATUS_FAULTS
from minerva_core.emulator.jsonbody import EMULATOR_USER_ID, error_response

API_PREFIX = "/api/v1"
FAULT_HEADER = "x-emulator-fault"

Handler = Callable[[Request], Awaitable[Any]]


def requested_fault(request: Request) -> str | None | Response:
    """The X-Emulator-Fault header's kind, None, or a 400 for an unknown kind."""
    kind = request.headers.get(FAULT_HEADER)
    if kind is None or kind == "":
        return None
    if kind not in FAULT_KINDS:
        return error_response(400, f"unknown X-Emulator-Fault {kind!r}; one of {', '.join(sorted(FAULT_KINDS))}")
    return kind


def guarded(handler: Handler) -> Handler:
    """Apply the header fault, or the fault armed for this path (e.g. "/models"), to a route."""

    @wraps(handler)
    async def endpoint(request: Request) -> Any:
        state = request.app.state.emulator
        kind = requested_fault(request)
        if isinstance(kind, Response):
            return kind
        if kind is None and state.faults:
            kind = state.faults.take(request.url.path.removeprefix(API_PREFIX))
        if kind is None:
            return await handler(request)
        if kind in STATUS_FAULTS:
            return _status_error(kind, state.config.retry_after_s)
        if kind == "hang":
            return Hang()
        if kind == "reset":
            return Reset(state.connections)
        response = await handler(request)
        body = getattr(response, "body", b"") or b""
        if kind == "drip":
            return dripping(body, state.config.drip_ms / 1000, response.media_type or "application/json")
        return malformed(b"", body, response.media_type or "application/json")

    return endpoint


def _status_error(kind: str, retry_after_s: int) -> Response:
    status = STATUS_FAULTS[kind]
    if status == 429:
        return error_response(429, "Rate limit exceeded", headers={"Retry-After": str(retry_after_s)},
                              user_id=EMULATOR_USER_ID)
    messages = {400: "Invalid request parameters", 500: "Internal Server Error",
                502: "Provider returned error", 503: "Service temporarily unavailable"}
    return error_response(status, messages[status])
