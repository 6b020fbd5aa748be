"""JSON bytes and OpenRouter-shaped error bodies.

Money is Decimal everywhere; it goes into JSON as its own digits (never through float), so a
client that parses numbers as Decimal reads back exactly what the emulator billed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

import orjson
from starlette.responses import Response

from minerva_core.pricing import decimal_string

#: The user id OpenRouter puts next to error bodies; fixed so tests can compare bodies.
EMULATOR_USER_ID = "user_emulator000000000000000"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(decimal_string(value).encode("ascii"))
    raise TypeError(f"cannot put {type(value).__name__} in JSON")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


def json_response(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(value), status_code=status, headers=headers, media_type="application/json")


def bytes_response(
    body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def error_body(
    code: int,
    message: str,
    metadata: Mapping[str, Any] | None = None,
    *,
    user_id: str | None = None,
) -> dict[str, Any]:
    """`{"error": {"code", "message", "metadata"?}, "user_id"?}` as OpenRouter sends it."""
    error: dict[str, Any] = {"code": code, "message": message}
    if metadata is not None:
        error["metadata"] = dict(metadata)
    body: dict[str, Any] = {"error": error}
    if user_id is not None:
        body["user_id"] = user_id
    return body


def error_response(
    code: int,
    message: str,
    metadata: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    user_id: str | None = None,
) -> Response:
    return json_response(error_body(code, message, metadata, user_id=user_id), code, headers)
