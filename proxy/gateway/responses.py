"""OpenAI-style answers of the gateway, rendered with orjson, plus the few API errors the
tree in ``minerva_core.errors`` lacks (candidates to fold into it):

    ApiError
    ├── PayloadTooLargeError    413: the body is over MINERVA_GATEWAY_MAX_BODY_BYTES
    ├── RateLimitError          429: the key's rpm/tpm limit (retry_after seconds, ceiling)
    ├── BudgetExceededError     402: the key's budget for the period would be exceeded
    ├── NoRouteApiError         400: no model meets the request (or 503 when all are cooling)
    └── UpstreamApiError        the upstream's own 4xx, or 502/504 when every candidate failed

Budgets answer **402** (type ``insufficient_quota``, code ``budget_exceeded``), not 429: the
OpenAI SDK retries 429 by itself, and retrying cannot help until the period rolls over.

Every error body is ``{"error": {"message", "type", "code", "param"}}``; a 401 carries
``WWW-Authenticate`` and a 429/503 carries ``Retry-After`` (integer seconds, rounded up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

from minerva_core.errors import (  # the gateway's answers, kept importable from here
    ApiError,
    BudgetExceededError,
    NoRouteApiError,
    PayloadTooLargeError,
    RateLimitError,
    UnauthorizedError,
    UpstreamApiError,
)

JSON = "application/json"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (frozenset, set, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> bytes:
    """JSON bytes; Decimal as a string (exact), sets and tuples as arrays."""
    return orjson.dumps(value, default=_default)


def json_response(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(value), status_code=status, headers=headers, media_type=JSON)


def error_payload(message: str, error_type: str, code: str | None = None, param: str | None = None,
                  details: dict | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code, "param": param}
    if details:
        error["details"] = details
    return {"error": error}


def retry_after_header(seconds: float | None) -> dict[str, str]:
    if seconds is None:
        return {}
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def api_error_response(exc: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    """The response for any ApiError (ours or the shared tree's)."""
    extra: dict[str, str] = dict(headers or {})
    if isinstance(exc, UnauthorizedError):
        extra["WWW-Authenticate"] = 'Bearer realm="minerva"'
    extra.update(retry_after_header(getattr(exc, "retry_after", None)))
    body = error_payload(exc.message, exc.error_type, exc.code, exc.param, exc.details)
    return Response(dumps(body), status_code=exc.status_code, headers=extra, media_type=JSON)


__all__ = [
    "BudgetExceededError",
    "NoRouteApiError",
    "PayloadTooLargeError",
    "RateLimitError",
    "UpstreamApiError",
    "api_error_response",
    "dumps",
    "error_payload",
    "json_response",
    "retry_after_header",
]
