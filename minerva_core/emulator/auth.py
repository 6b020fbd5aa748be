"""Bearer keys as OpenRouter checks them, with its 401 bodies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from minerva_core.emulator.jsonbody import error_response


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return None
    return key


def authenticate(request: Request, require_key: str | None) -> str | Response:
    """The caller's key, or the 401 response OpenRouter gives."""
    key = bearer_key(request)
    if key is None:
        return error_response(401, "No auth credentials found")
    if require_key is not None and key != require_key:
        return error_response(401, "User not found.")
    return key
