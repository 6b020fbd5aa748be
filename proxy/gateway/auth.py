"""Who is calling: a virtual key (apps) or the admin token (platform paths). Pure: the
snapshot holds keys by hash, so a lookup is one SHA-256 and one dict get, no database."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from minerva_core.errors import ForbiddenError, UnauthorizedError
from minerva_core.virtual_keys import hash_key
from proxy.gateway.state import KeyInfo, Snapshot


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or UnauthorizedError."""
    if not header:
        raise UnauthorizedError(
            "missing API key: send 'Authorization: Bearer <your Minerva virtual key>'", code="missing_api_key"
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError("the Authorization header must be 'Bearer <key>'", code="invalid_authorization")
    return token


def authenticate(snapshot: Snapshot, header: str | None, now: datetime) -> KeyInfo:
    """The active key the header names. Unknown, revoked and expired keys are all 401; the
    message says which of the latter two it is (the caller holds the key, so this leaks
    nothing they do not know)."""
    token = bearer_token(header)
    key = snapshot.keys.get(hash_key(token))
    if key is None:
        raise UnauthorizedError("invalid API key", code="invalid_api_key")
    if key.revoked:
        raise UnauthorizedError("this API key has been revoked", code="revoked_api_key")
    if key.expires_at is not None and key.expires_at <= now:
        raise UnauthorizedError("this API key has expired", code="expired_api_key")
    return key


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def check_admin(header: str | None, admin_token: str | None) -> None:
    """Bearer MINERVA_ADMIN_TOKEN, compared in constant time over equal-length digests.
    No token configured: 403 (the admin API is off)."""
    token = bearer_token(header)
    if not admin_token or not admin_token.strip():
        raise ForbiddenError("the admin API is disabled: set MINERVA_ADMIN_TOKEN to enable it",
                             code="admin_api_disabled")
    if not hmac.compare_digest(_digest(token), _digest(admin_token)):
        raise UnauthorizedError("invalid admin token", code="invalid_admin_token")


__all__ = ["authenticate", "bearer_token", "check_admin"]
