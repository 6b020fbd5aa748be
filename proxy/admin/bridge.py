"""SessionBridge: the admin session for the gateway's admin routes.

The gateway's routes (routing/recommend, routing/strategies, ...) are plain Starlette routes
that check ``Authorization: Bearer <MINERVA_ADMIN_TOKEN>`` themselves, not through
``proxy.deps.require_admin``. For a request under those paths that has *no* Authorization
header, this ASGI middleware accepts the admin session cookie together with its CSRF token
(X-CSRF-Token) and adds the bearer header server-side, so the token never reaches the
browser. A valid cookie with a missing or wrong CSRF token is answered 403 here. Requests
with an Authorization header, and every other path, pass through untouched.

If the gateway's ``admin`` wrapper learns to accept ``proxy.admin.session`` itself, this
middleware can go.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from proxy.admin import session as admin_session
from proxy.errors import error_response

ADMIN_PREFIX = "/api/platform/ai-management/openrouter"
GATEWAY_PREFIXES = (f"{ADMIN_PREFIX}/routing/",)


def _cookie(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed Cookie header is no session
                return None
            if admin_session.COOKIE_NAME in jar:
                return jar[admin_session.COOKIE_NAME].value
    return None


class SessionBridge:
    def __init__(self, app: Any, prefixes: tuple[str, ...] = GATEWAY_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        if any(name == b"authorization" for name, _ in headers):
            await self.app(scope, receive, send)
            return
        token = admin_session.admin_token_of(scope["app"].state.settings)
        session = admin_session.read(_cookie(headers), token)
        if session is None or token is None:
            await self.app(scope, receive, send)  # the route answers 401 as it always does
            return
        supplied = next((v.decode("latin-1") for n, v in headers if n == b"x-csrf-token"), None)
        if not admin_session.csrf_matches(session, supplied):
            response = error_response(
                403, "the admin session cookie needs its CSRF token in the X-CSRF-Token header",
                "permission_error", "csrf_failed",
            )
            await response(scope, receive, send)
            return
        headers.append((b"authorization", f"Bearer {token}".encode("latin-1")))
        await self.app({**scope, "headers": headers}, receive, send)


__all__ = ["GATEWAY_PREFIXES", "SessionBridge"]
