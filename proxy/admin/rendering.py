"""Jinja2 for the pages: one environment (autoescape on for every template), the common
context (session, CSRF token, navigation, static URLs) and the security headers of every
page: a strict Content-Security-Policy (scripts and styles from /admin/static only, no
inline script), no framing, no caching of pages that show configuration."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from proxy.admin import STATIC_DIR, TEMPLATES_DIR
from proxy.admin.session import AdminSession

API_PREFIX = "/api/platform/ai-management/openrouter"
NAV = (
    ("dashboard", "Dashboard", "/admin/dashboard"),
    ("providers", "Providers", "/admin/providers"),
    ("models", "Models", "/admin/models"),
    ("routing", "Routing", "/admin/routing"),
)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@lru_cache(maxsize=256)
def static_url(path: str) -> str:
    """/admin/static/<path>?v=<content hash>: cached forever by browsers, busted on change."""
    file = (STATIC_DIR / path).resolve()
    if not file.is_relative_to(STATIC_DIR) or not file.is_file():
        raise ValueError(f"no static file {path!r}")
    return f"/admin/static/{path}?v={hashlib.sha256(file.read_bytes()).hexdigest()[:12]}"


def _money(value: Any) -> str:
    if value is None:
        return "—"
    return format(Decimal(value), "f") if not isinstance(value, str) else value  # as stored: 25.50 stays 25.50


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static=static_url, nav=NAV, api_prefix=API_PREFIX)
    env.filters["money"] = _money
    env.filters["when"] = lambda v: "—" if v is None else v.strftime("%Y-%m-%d %H:%M UTC")
    return env


ENV = _environment()


def render(request: Request, template: str, *, session: AdminSession | None = None, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    page = ENV.get_template(template).render(
        request=request, session=session, csrf_token=session.csrf_token if session else "",
        partial=request.headers.get("hx-request") == "true", **context,
    )
    return HTMLResponse(page, status_code=status, headers={**HEADERS, **(headers or {})})


__all__ = ["API_PREFIX", "ENV", "HEADERS", "NAV", "render", "static_url"]
