"""Admin sessions for the /admin pages: sign in once with MINERVA_ADMIN_TOKEN, then carry a
signed, expiring cookie instead of the token; the token itself never reaches the browser.

    cookie   v1.<sid>.<issued>.<expires>.<sig>     sig = HMAC-SHA256(K, "v1.<sid>.<issued>.<expires>")
    K        HMAC-SHA256(admin token, "minerva admin session v1")
    CSRF     HMAC-SHA256(K, "csrf.<sid>") (base64url): one per session, nothing stored

Stateless on purpose: every worker of the proxy checks a cookie alone, and changing
MINERVA_ADMIN_TOKEN invalidates every session at once. Logout deletes the cookie; a copied
cookie stays valid until it expires (MINERVA_ADMIN_SESSION_TTL_S, default 8 hours).

The cookie is HttpOnly, SameSite=Strict, Path=/ (the pages call the JSON API under
/api/platform/...), and Secure when MINERVA_ADMIN_COOKIE_SECURE is true (default: true in
production). A state-changing form carries ``csrf_token``; a fetch() carries the header
``X-CSRF-Token``. Nothing here imports the rest of proxy/ (proxy.deps imports this module).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COOKIE_NAME = "minerva_admin"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_VERSION = "v1"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SessionConfig:
    secure_cookie: bool = False
    ttl_seconds: int = 8 * 3600

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, production: bool) -> SessionConfig:
        raw = environ.get("MINERVA_ADMIN_COOKIE_SECURE", "").strip().lower()
        if raw and raw not in _TRUE | _FALSE:
            raise ValueError("MINERVA_ADMIN_COOKIE_SECURE must be true or false")
        secure = (raw in _TRUE) if raw else production
        ttl_raw = environ.get("MINERVA_ADMIN_SESSION_TTL_S", "").strip()
        if ttl_raw and (not ttl_raw.isdigit() or not 60 <= int(ttl_raw) <= 30 * 86400):
            raise ValueError("MINERVA_ADMIN_SESSION_TTL_S must be a number of seconds from 60 to 2592000")
        return cls(secure_cookie=secure, ttl_seconds=int(ttl_raw) if ttl_raw else cls.ttl_seconds)


@dataclass(frozen=True)
class AdminSession:
    sid: str
    issued_at: int
    expires_at: int
    csrf_token: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _key(admin_token: str) -> bytes:
    return hmac.new(admin_token.encode(), b"minerva admin session v1", hashlib.sha256).digest()


def _sign(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode(), hashlib.sha256).digest())


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def token_matches(supplied: str, admin_token: str | None) -> bool:
    """The login check: constant time over equal-length digests; no token configured, no login."""
    if not admin_token or not admin_token.strip() or not supplied:
        return False
    return hmac.compare_digest(_digest(supplied.strip()), _digest(admin_token))


def issue(admin_token: str, ttl_seconds: int, *, now: float | None = None) -> tuple[str, AdminSession]:
    """A new session: (cookie value, session)."""
    key = _key(admin_token)
    issued = int(now if now is not None else time.time())
    sid = _b64(secrets.token_bytes(18))
    body = f"{_VERSION}.{sid}.{issued}.{issued + ttl_seconds}"
    return f"{body}.{_sign(key, body)}", AdminSession(sid, issued, issued + ttl_seconds, _sign(key, f"csrf.{sid}"))


def read(cookie: str | None, admin_token: str | None, *, now: float | None = None) -> AdminSession | None:
    """The session a cookie carries, or None: malformed, forged, expired or no admin token."""
    if not cookie or not admin_token or not admin_token.strip() or len(cookie) > 512:
        return None
    parts = cookie.split(".")
    if len(parts) != 5 or parts[0] != _VERSION or not parts[2].isdigit() or not parts[3].isdigit():
        return None
    key = _key(admin_token)
    body = ".".join(parts[:4])
    if not hmac.compare_digest(_sign(key, body).encode(), parts[4].encode()):
        return None
    issued, expires = int(parts[2]), int(parts[3])
    current = now if now is not None else time.time()
    if not issued - 60 <= current < expires:
        return None
    return AdminSession(parts[1], issued, expires, _sign(key, f"csrf.{parts[1]}"))


def csrf_matches(session: AdminSession, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(session.csrf_token.encode(), str(supplied).encode())


def admin_token_of(settings: Any) -> str | None:
    token = getattr(settings, "admin_token", None)
    return token.get_secret_value() if token is not None else None


def session_of(request: Any) -> AdminSession | None:
    """The request's valid admin session, if any (Starlette/FastAPI Request)."""
    return read(request.cookies.get(COOKIE_NAME), admin_token_of(request.app.state.settings))


def config_of(app: Any) -> SessionConfig:
    config = getattr(app.state, "admin_session", None)
    if config is None:
        settings = app.state.settings
        config = SessionConfig.from_environ(os.environ, production=getattr(settings, "env", "") == "production")
        app.state.admin_session = config
    return config


def set_cookie(response: Any, value: str, config: SessionConfig) -> None:
    response.set_cookie(COOKIE_NAME, value, max_age=config.ttl_seconds, path="/", httponly=True,
                        samesite="strict", secure=config.secure_cookie)


def clear_cookie(response: Any, config: SessionConfig) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=config.secure_cookie)


__all__ = [
    "COOKIE_NAME",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "AdminSession",
    "SessionConfig",
    "admin_token_of",
    "clear_cookie",
    "config_of",
    "csrf_matches",
    "issue",
    "read",
    "session_of",
    "set_cookie",
    "token_matches",
]
