"""Map foreign failures (httpx exceptions, HTTP error answers) to Minerva's error tree.

By exception type and HTTP status, and by the structured error `code`/`type` fields of
the body, never by matching message text.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import orjson

from minerva_core.errors import (
    AuthenticationError,
    BadRequest,
    ContextLengthExceeded,
    InsufficientCredits,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestTimeout,
    ServerError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
)

_BY_STATUS: dict[int, type[UpstreamStatusError]] = {
    400: BadRequest,
    401: AuthenticationError,
    402: InsufficientCredits,
    403: PermissionDenied,
    404: NotFound,
    408: RequestTimeout,
    413: BadRequest,
    422: BadRequest,
    429: RateLimited,
}

CONTEXT_LENGTH_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def error_fields(body: Any) -> tuple[str | None, str | None]:
    """(message, error type) from an OpenRouter / OpenAI error body, tolerant of shapes."""
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if not isinstance(error, dict):
        return (str(error) if error else None), None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    candidates = [error.get("type"), error.get("code")]
    metadata = error.get("metadata")
    if isinstance(metadata, dict):
        candidates.append(metadata.get("error_type"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            return message, candidate
    return message, None


def decode_exact(content: bytes) -> Any:
    """Like decode_body, but numbers with a fraction become Decimal (for money)."""
    import json
    from decimal import Decimal

    try:
        return json.loads(content.lstrip(), parse_float=Decimal) if content.strip() else None
    except ValueError:
        return None


def decode_body(content: bytes) -> Any:
    try:
        return orjson.loads(content.lstrip()) if content.strip() else None
    except orjson.JSONDecodeError:
        return None


def status_error(
    status_code: int,
    content: bytes,
    headers: httpx.Headers | dict[str, str],
    *,
    provider: str | None = None,
    model: str | None = None,
) -> UpstreamStatusError:
    body = decode_body(content)
    message, error_type = error_fields(body)
    cls: type[UpstreamStatusError]
    if status_code >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status_code, UpstreamStatusError)
    if cls is BadRequest and error_type in CONTEXT_LENGTH_CODES:
        cls = ContextLengthExceeded
    retry_after = parse_retry_after(headers.get("retry-after"))
    text = f"upstream answered HTTP {status_code}" + (f": {message}" if message else "")
    return cls(
        text,
        status_code=status_code,
        error_type=error_type,
        retry_after=retry_after,
        body=body,
        provider=provider,
        model=model,
    )


def transport_error(exc: httpx.HTTPError, *, provider: str | None = None, model: str | None = None) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout(f"upstream timed out ({exc.__class__.__name__})", provider=provider, model=model)
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)):
        return UpstreamConnectionError(
            f"upstream connection failed ({exc.__class__.__name__})", provider=provider, model=model
        )
    return UpstreamError(f"upstream request failed ({exc.__class__.__name__})", provider=provider, model=model)
