"""The admin pages at /admin: server-rendered Jinja2, progressively enhanced with htmx and
Chart.js (vendored under static/vendor, no CDN), signed in with the admin token.

Mount everything with one call from create_app::

    from proxy.admin import install_admin
    install_admin(app)

which adds the pages' router (``proxy.admin.routes.router``), the static files at
/admin/static, the "sign in first" redirect, and ``SessionBridge`` (lets the pages'
fetch() calls reach the gateway's routing/* admin routes with the session; see bridge.py).
The FastAPI admin routers accept the session through ``proxy.deps.require_admin``.

Modules: session (cookie, CSRF), auth (page dependencies), routes (pages), actions (login,
logout, alert-rule forms), reports (report downloads), queries (the SQL the pages read),
alert_rules (validation and writes), forms (urlencoded bodies), rendering (Jinja2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES_DIR = PACKAGE_DIR / "templates"


def install_admin(app: Any, *, session_config: Any = None) -> None:
    """Mount the /admin pages on ``app`` (a FastAPI app made by create_app)."""
    # Imported here: proxy.deps imports proxy.admin.session, and routes import proxy.deps.
    from fastapi.staticfiles import StaticFiles

    from proxy.admin.auth import (
        CsrfRefused,
        LoginRequired,
        csrf_refused,
        login_redirect,
    )
    from proxy.admin.bridge import SessionBridge
    from proxy.admin.routes import router
    from proxy.admin.session import config_of

    if session_config is not None:
        app.state.admin_session = session_config
    else:
        config_of(app)  # read the environment once, at start: a bad value stops start-up
    app.include_router(router)
    app.mount("/admin/static", StaticFiles(directory=STATIC_DIR), name="admin-static")
    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_middleware(SessionBridge)


__all__ = ["PACKAGE_DIR", "STATIC_DIR", "TEMPLATES_DIR", "install_admin"]
