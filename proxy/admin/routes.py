"""The /admin pages (GET). Thin: read what the page shows first (server-side, through
minerva_core or queries.py), render a template; everything live comes from the JSON API,
called by the page's script with the session and its CSRF header.

    GET /admin                      -> the dashboard (or the login page)
    GET /admin/providers            OpenRouter configuration and health test
    GET /admin/models               model browser (+ /admin/models/results, the htmx partial)
    GET /admin/routing              strategy builder and decision tester
    GET /admin/dashboard            usage, cost, latency charts; alerts; reconciliation runs
                                    (+ /admin/dashboard/alerts and /admin/dashboard/runs partials)

The state-changing forms are in actions.py, the report downloads in reports.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from minerva_core.catalog_queries import CAPABILITIES, SORT_KEYS
from proxy.admin import actions, queries, reports
from proxy.admin.actions import alerts_context
from proxy.admin.auth import PageSession
from proxy.admin.browser import STATUS_CHOICES, compare_data, search
from proxy.admin.rendering import render
from proxy.admin.session import session_of
from proxy.deps import EngineDep

router = APIRouter(prefix="/admin", include_in_schema=False)
router.include_router(actions.router)
router.include_router(reports.router)

STRATEGY_KINDS = ("cheapest", "fastest", "balanced", "quality", "custom")


@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    target = "/admin/dashboard" if session_of(request) else "/admin/login"
    return RedirectResponse(target, status_code=303)


@router.get("/providers")
def providers(request: Request, session: PageSession) -> Response:
    return render(request, "providers.html", session=session, page="providers")


def _read(engine, work):
    with engine.connect() as conn:
        return work(conn)


@router.get("/models")
async def models(request: Request, session: PageSession, engine: EngineDep) -> Response:
    facets, results = await run_in_threadpool(
        _read, engine, lambda conn: (queries.catalog_facets(conn), search(conn, request.query_params)))
    return render(request, "models.html", session=session, page="models", facets=facets, results=results,
                  compare_data=compare_data, capabilities=CAPABILITIES, sort_keys=SORT_KEYS,
                  statuses=STATUS_CHOICES)


@router.get("/models/results")
async def model_results(request: Request, session: PageSession, engine: EngineDep) -> Response:
    results = await run_in_threadpool(_read, engine, lambda conn: search(conn, request.query_params))
    # htmx puts the page's own URL (not this partial's) in the address bar and history.
    return render(request, "partials/model_results.html", session=session, results=results,
                  compare_data=compare_data, headers={"HX-Push-Url": f"/admin/models?{results.query()}"})


@router.get("/routing")
async def routing(request: Request, session: PageSession, engine: EngineDep) -> Response:
    facets = await run_in_threadpool(_read, engine, queries.catalog_facets)
    return render(request, "routing.html", session=session, page="routing", model_ids=facets.model_ids,
                  kinds=STRATEGY_KINDS)


@router.get("/dashboard")
async def dashboard(request: Request, session: PageSession, engine: EngineDep) -> Response:
    context = await run_in_threadpool(
        _read, engine, lambda conn: {**alerts_context(conn), "runs": queries.reconciliation_runs(conn)})
    return render(request, "dashboard.html", session=session, page="dashboard", **context)


@router.get("/dashboard/alerts")
async def dashboard_alerts(request: Request, session: PageSession, engine: EngineDep) -> Response:
    context = await run_in_threadpool(_read, engine, alerts_context)
    return render(request, "partials/alerts.html", session=session, **context)


@router.get("/dashboard/runs")
async def dashboard_runs(request: Request, session: PageSession, engine: EngineDep) -> Response:
    runs = await run_in_threadpool(_read, engine, queries.reconciliation_runs)
    return render(request, "partials/runs.html", session=session, runs=runs)


__all__ = ["router"]
