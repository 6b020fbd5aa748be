"""The app's routers, one module per area; ``include_routers`` mounts them all."""

from __future__ import annotations

from fastapi import FastAPI

from proxy.routes import admin_models, admin_provider, health

ADMIN_PREFIX = "/api/platform/ai-management/openrouter"


def include_routers(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(admin_provider.router, prefix=ADMIN_PREFIX)
    app.include_router(admin_models.router, prefix=ADMIN_PREFIX)


__all__ = ["ADMIN_PREFIX", "include_routers"]
