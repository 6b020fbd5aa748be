"""Annotated dependencies: what a handler may ask for. Everything lives on app.state (set
by create_app's lifespan); nothing here is a module global.

    SettingsDep     the app's Settings
    EngineDep       the SQLAlchemy Engine (open a transaction with engine.begin())
    ConnDep         a Connection for reads, closed after the request
    HttpClientDep   the one shared httpx.AsyncClient
    LauncherDep     the FlowLauncher that starts catalog flows
    KeyRingDep      the credential KeyRing (built on first use; 503 when no key can be had)
    AdminDep        the admin bearer token (MINERVA_ADMIN_TOKEN), checked in constant time;
                    or, with no Authorization header, the /admin pages' session cookie plus its
                    X-CSRF-Token header (proxy.admin.session)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from minerva_core.credentials import KeyRing, load_keyring
from minerva_core.errors import ForbiddenError, UnauthorizedError
from minerva_core.settings import Settings
from proxy.admin import session as admin_session
from proxy.jobs import FlowLauncher


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_connection(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn


def get_http_client(request: Request) -> httpx.AsyncClient:
    return request.app.state.http


def get_launcher(request: Request) -> FlowLauncher:
    return request.app.state.launcher


def get_keyring(request: Request) -> KeyRing:
    state = request.app.state
    with state.keyring_lock:
        if getattr(state, "keyring", None) is None:
            state.keyring = load_keyring(state.settings)  # NoSecretKeysError -> 503
        return state.keyring


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def require_admin(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """Bearer MINERVA_ADMIN_TOKEN. No header: 401. Wrong token (a virtual key too): 401.
    No admin token configured: 403, the admin API is off.

    Without an Authorization header, a valid admin session cookie (the /admin pages) is
    accepted together with its CSRF token in X-CSRF-Token; the cookie without it is 403."""
    header = request.headers.get("authorization")
    if not header and _session_allows(request, settings):
        return
    if not header:
        raise UnauthorizedError(
            "missing admin token: send 'Authorization: Bearer <MINERVA_ADMIN_TOKEN>'", code="missing_token"
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError("the Authorization header must be 'Bearer <token>'", code="invalid_authorization")
    expected = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if not expected.strip():
        raise ForbiddenError(
            "the admin API is disabled: set MINERVA_ADMIN_TOKEN to enable it", code="admin_api_disabled"
        )
    # Equal-length digests: the comparison time says nothing about the token's length or prefix.
    if not hmac.compare_digest(_digest(token), _digest(expected)):
        raise UnauthorizedError(
            "invalid admin token; the admin API takes MINERVA_ADMIN_TOKEN, not a virtual API key",
            code="invalid_admin_token",
        )


def _session_allows(request: Request, settings: Settings) -> bool:
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    session = admin_session.read(request.cookies.get(admin_session.COOKIE_NAME), token)
    if session is None:
        return False
    if not admin_session.csrf_matches(session, request.headers.get(admin_session.CSRF_HEADER)):
        raise ForbiddenError(
            "the admin session cookie needs its CSRF token in the X-CSRF-Token header", code="csrf_failed"
        )
    return True


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ConnDep = Annotated[Connection, Depends(get_connection)]
HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]
LauncherDep = Annotated[FlowLauncher, Depends(get_launcher)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
AdminDep = Annotated[None, Depends(require_admin)]

__all__ = [
    "AdminDep",
    "ConnDep",
    "EngineDep",
    "HttpClientDep",
    "KeyRingDep",
    "LauncherDep",
    "SettingsDep",
    "get_connection",
    "get_engine",
    "get_http_client",
    "get_keyring",
    "get_launcher",
    "get_settings",
    "require_admin",
]
