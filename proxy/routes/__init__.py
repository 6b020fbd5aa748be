"""The app's routers, one module per area; ``include_routers`` mounts them all."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from proxy.deps import require_admin
from proxy.routes import admin_models, admin_provider, analytics, flags, health, migration
from proxy.routes.flags import require_flag

ADMIN_PREFIX = "/api/platform/ai-management/openrouter"


def include_routers(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(admin_provider.router, prefix=ADMIN_PREFIX)
    app.include_router(admin_models.router, prefix=ADMIN_PREFIX)
    app.include_router(
        analytics.router,
        prefix=ADMIN_PREFIX,
        dependencies=[Depends(require_admin), Depends(require_flag("analytics"))],
    )
    app.include_router(flags.router, prefix=ADMIN_PREFIX)
    app.include_router(migration.router, prefix=ADMIN_PREFIX)


__all__ = ["ADMIN_PREFIX", "include_routers"]
