"""Page dependencies: who may see a page, and the CSRF check of state-changing form posts.

    PageSession     the signed-in session, or LoginRequired -> 303 to /admin/login?next=...
                    (an htmx request gets HX-Redirect instead, so the whole page moves)
    CsrfForm        PageSession + the urlencoded form, refused with 403 unless its csrf_token
                    field (or the X-CSRF-Token header) is the session's
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from proxy.admin import session as admin_session
from proxy.admin.forms import Form, read_form
from proxy.admin.session import AdminSession

LOGIN_PATH = "/admin/login"


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


class CsrfRefused(Exception):
    pass


def safe_next(value: str | None) -> str:
    """Only a path of these pages may follow login (no open redirect)."""
    if not value:
        return "/admin/dashboard"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/") or value.startswith("//") \
            or "\\" in value or parts.path.startswith(LOGIN_PATH):
        return "/admin/dashboard"
    return value


def login_url(next_path: str) -> str:
    return f"{LOGIN_PATH}?next={quote(safe_next(next_path), safe='/')}"


async def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login_url(exc.next_path)
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def csrf_refused(request: Request, exc: Exception) -> Response:
    return Response("The form's CSRF token is missing or wrong: reload the page and try again.",
                    status_code=403, media_type="text/plain", headers={"Cache-Control": "no-store"})


def require_page_session(request: Request) -> AdminSession:
    session = admin_session.session_of(request)
    if session is None:
        path = request.url.path
        if request.method == "GET" and request.url.query:
            path += "?" + request.url.query
        raise LoginRequired(path if request.method == "GET" else "/admin/dashboard")
    return session


PageSession = Annotated[AdminSession, Depends(require_page_session)]


async def csrf_form(request: Request, session: PageSession) -> Form:
    form = await read_form(request)
    supplied = form.get(admin_session.CSRF_FIELD) or request.headers.get(admin_session.CSRF_HEADER)
    if not admin_session.csrf_matches(session, supplied):
        raise CsrfRefused()
    return form


CsrfForm = Annotated[Form, Depends(csrf_form)]

__all__ = ["CsrfForm", "CsrfRefused", "LoginRequired", "PageSession", "csrf_refused", "login_redirect", "login_url", "safe_next"]
