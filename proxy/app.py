"""The proxy app: ``create_app(settings)`` builds it, its lifespan owns the resources.

    app = create_app(load_settings())                      # uvicorn "proxy.app:..." via a factory
    app = create_app(settings, engine=engine, launcher=fake)  # tests: their engine, their launcher

The lifespan creates (or adopts) the SQLAlchemy engine, ONE shared httpx.AsyncClient and the
FlowLauncher, keeps them on ``app.state`` and closes what it created on shutdown. There are
no module globals: two apps in one process share nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from minerva_core.db import get_engine
from minerva_core.providers import new_client
from minerva_core.settings import Settings
from proxy.admin import install_admin
from proxy.errors import install_error_handlers
from proxy.gateway import gateway_lifespan, gateway_readiness_check, install_gateway
from proxy.jobs import FlowLauncher, SubprocessLauncher, flow_environment
from proxy.openapi import install_openapi
from proxy.routes import include_routers
from proxy.routes.health import database_check, register_readiness_check


def create_app(
    settings: Settings, *, engine: Engine | None = None, launcher: FlowLauncher | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        # get_engine may start the embedded PostgreSQL: seconds of blocking work, off the loop.
        app.state.engine = engine if engine is not None else await asyncio.to_thread(get_engine, settings)
        app.state.http = new_client()
        app.state.launcher = launcher or SubprocessLauncher(
            flow_environment(settings, app.state.engine), log_dir=settings.home / "logs"
        )
        try:
            async with gateway_lifespan(app):
                yield
        finally:
            await app.state.http.aclose()
            if own_engine:
                app.state.engine.dispose()

    app = FastAPI(
        title="Minerva",
        summary="OpenAI-compatible routing proxy and admin API around OpenRouter",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.keyring = None
    app.state.keyring_lock = threading.Lock()
    app.state.readiness_checks = {}
    register_readiness_check(app, "database", database_check, critical=False)  # served from memory meanwhile
    install_error_handlers(app)
    include_routers(app)
    gateway = install_gateway(app, settings)
    install_openapi(app, max_tokens_limit=gateway.config.max_tokens_limit,
                    max_body_bytes=gateway.config.max_body_bytes)
    register_readiness_check(app, "catalog", gateway_readiness_check)
    install_admin(app)
    return app


__all__ = ["create_app"]
