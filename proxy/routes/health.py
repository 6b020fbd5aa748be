"""Liveness and readiness.

GET /healthz  the process answers (no dependency is touched).
GET /readyz   every critical readiness check passes: 200 ("ready", or "degraded" when a
              non-critical one fails), else 503 with each check's result.
              The database check (SELECT 1) is registered by create_app as non-critical: with
              the catalog in memory the proxy routes and spools ledger rows while PostgreSQL
              is away, so a load balancer must keep sending it traffic. Other parts add theirs
              with ``register_readiness_check(app, "catalog", check)`` (critical by default).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from proxy.errors import error_body

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str
    latency_ms: float | None = None


ReadinessCheck = Callable[[FastAPI], Awaitable[CheckResult]]


def register_readiness_check(app: FastAPI, name: str, check: ReadinessCheck, *, critical: bool = True) -> None:
    app.state.readiness_checks[name] = check
    if not critical:
        app.state.readiness_optional = {*getattr(app.state, "readiness_optional", ()), name}


async def database_check(app: FastAPI) -> CheckResult:
    engine = app.state.engine

    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    started = time.perf_counter()
    await asyncio.to_thread(ping)
    return CheckResult(True, "SELECT 1 ok", round((time.perf_counter() - started) * 1000, 2))


async def _run(app: FastAPI, check: ReadinessCheck) -> CheckResult:
    try:
        return await asyncio.wait_for(check(app), timeout=CHECK_TIMEOUT_S)
    except TimeoutError:
        return CheckResult(False, f"no answer within {CHECK_TIMEOUT_S:g} s")
    except Exception as exc:  # noqa: BLE001 - a failing check is a result, not an error here
        return CheckResult(False, f"failed: {exc.__class__.__name__}")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    app = request.app
    names = list(app.state.readiness_checks)
    results = await asyncio.gather(*(_run(app, app.state.readiness_checks[n]) for n in names))
    optional = getattr(app.state, "readiness_optional", frozenset())
    checks = {n: {"ok": r.ok, "detail": r.detail, "latency_ms": r.latency_ms, "critical": n not in optional}
              for n, r in zip(names, results)}
    if all(r.ok for n, r in zip(names, results) if n not in optional):
        degraded = any(not r.ok for r in results)
        return JSONResponse({"status": "degraded" if degraded else "ready", "checks": checks})
    failing = ", ".join(n for n, r in zip(names, results) if not r.ok)
    body = {"status": "not_ready", "checks": checks,
            **error_body(f"not ready: {failing}", "service_unavailable", "not_ready")}
    return JSONResponse(body, status_code=503)


__all__ = ["CheckResult", "ReadinessCheck", "database_check", "register_readiness_check", "router"]
