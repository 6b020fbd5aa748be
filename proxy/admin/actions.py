"""State-changing forms of the pages: login, logout, and the dashboard's alert rules.

    GET  /admin/login                       the admin-token form
    POST /admin/login                       token -> session cookie, 303 to ?next (an /admin path)
    POST /admin/logout                      CSRF-checked; clears the cookie
    POST /admin/alerts/rules                create a rule              (CSRF-checked)
    POST /admin/alerts/rules/{id}           edit a rule                (CSRF-checked)
    POST /admin/alerts/rules/{id}/mute      mute for 1h | 8h | 24h | 7d (CSRF-checked)
    POST /admin/alerts/rules/{id}/unmute                               (CSRF-checked)

Alert forms answer htmx with the re-rendered alerts section (422 with the errors beside
their fields), and a plain browser with a 303 back to the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from proxy.admin import alert_rules, queries
from proxy.admin import session as admin_session
from proxy.admin.auth import CsrfForm, PageSession, safe_next
from proxy.admin.forms import read_form
from proxy.admin.rendering import render
from proxy.deps import EngineDep, SettingsDep

router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    if admin_session.session_of(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login")
async def login(request: Request, settings: SettingsDep) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    token = admin_session.admin_token_of(settings)
    if not token or not token.strip():
        return render(request, "login.html", next=target, status=403,
                      error="The admin pages are off: set MINERVA_ADMIN_TOKEN and restart.")
    if not admin_session.token_matches(form.get("token", ""), token):
        return render(request, "login.html", next=target, status=401, error="That is not the admin token.")
    config = admin_session.config_of(request.app)
    cookie, _ = admin_session.issue(token, config.ttl_seconds)
    response = RedirectResponse(target, status_code=303)
    admin_session.set_cookie(response, cookie, config)
    return response


@router.post("/logout")
async def logout(request: Request, form: CsrfForm) -> Response:
    response = RedirectResponse("/admin/login", status_code=303)
    admin_session.clear_cookie(response, admin_session.config_of(request.app))
    return response


def alerts_context(conn: Any) -> dict[str, Any]:
    return {
        "rules": queries.alert_rules(conn), "events": queries.recent_alert_events(conn),
        "metrics": alert_rules.METRIC_NAMES, "comparisons": alert_rules.COMPARISONS,
        "severities": alert_rules.SEVERITIES, "channels": alert_rules.CHANNELS,
        "mute_choices": tuple(alert_rules.MUTE_CHOICES), "errors": {}, "form": {}, "editing": None,
    }


def _write(engine: Engine, work: Callable[[Any], Any]) -> Any:
    with engine.begin() as conn:
        return work(conn)


async def _answer(request: Request, session: Any, engine: Engine, *, status: int = 200, **extra: Any) -> Response:
    if request.headers.get("hx-request") != "true":
        return RedirectResponse("/admin/dashboard#alerts", status_code=303)
    context = await run_in_threadpool(_write, engine, alerts_context)
    context.update(extra)
    return render(request, "partials/alerts.html", session=session, status=status, **context)


@router.post("/alerts/rules")
async def create_rule(request: Request, session: PageSession, form: CsrfForm, engine: EngineDep) -> Response:
    try:
        values = alert_rules.rule_values(form)
        await run_in_threadpool(_write, engine, lambda conn: alert_rules.create_rule(conn, values))
    except alert_rules.RuleFormError as exc:
        return await _answer(request, session, engine, status=422, errors=exc.errors, form=dict(form))
    return await _answer(request, session, engine)


@router.post("/alerts/rules/{rule_id}")
async def edit_rule(rule_id: int, request: Request, session: PageSession, form: CsrfForm,
                    engine: EngineDep) -> Response:
    def work(conn: Any) -> None:
        current = queries.alert_rule(conn, rule_id)
        if current is None:
            raise alert_rules.RuleFormError({"rule": f"no alert rule {rule_id}"})
        alert_rules.update_rule(conn, rule_id, alert_rules.rule_values(form, current=current))

    try:
        await run_in_threadpool(_write, engine, work)
    except alert_rules.RuleFormError as exc:
        return await _answer(request, session, engine, status=422, errors=exc.errors, form=dict(form),
                             editing=rule_id)
    return await _answer(request, session, engine)


@router.post("/alerts/rules/{rule_id}/mute")
async def mute_rule(rule_id: int, request: Request, session: PageSession, form: CsrfForm,
                    engine: EngineDep) -> Response:
    try:
        await run_in_threadpool(_write, engine, lambda c: alert_rules.mute_rule(c, rule_id, form.text("duration")))
    except alert_rules.RuleFormError as exc:
        return await _answer(request, session, engine, status=422, errors=exc.errors)
    return await _answer(request, session, engine)


@router.post("/alerts/rules/{rule_id}/unmute")
async def unmute_rule(rule_id: int, request: Request, session: PageSession, form: CsrfForm,
                      engine: EngineDep) -> Response:
    await run_in_threadpool(_write, engine, lambda conn: alert_rules.unmute_rule(conn, rule_id))
    return await _answer(request, session, engine)


__all__ = ["alerts_context", "router"]
