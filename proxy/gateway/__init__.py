"""The proxy's gateway: the OpenAI-compatible hot path (chat completions, models), the admin
proxy path, routing recommend and strategy CRUD, and /metrics.

Wiring, from ``create_app``::

    from proxy.gateway import gateway_lifespan, gateway_readiness_check, install_gateway

    def create_app(settings, *, engine=None, launcher=None):
        @asynccontextmanager
        async def lifespan(app):
            app.state.engine = ...                 # as today
            async with gateway_lifespan(app):      # after app.state.engine exists
                yield

        app = FastAPI(lifespan=lifespan, ...)
        install_gateway(app, settings)             # routes + app.state.gateway (not started)
        register_readiness_check(app, "catalog", gateway_readiness_check)

``install_gateway`` adds the routes (first in the route list) and puts one ``Gateway`` (all
state: snapshot store, admission, cooldowns, aiohttp session, ledger, metrics registry) on
``app.state.gateway``; nothing starts until ``gateway_lifespan(app)`` is entered, which uses
``app.state.engine`` when present (else its own engine from MINERVA_DATABASE_URL), loads the
snapshot, opens the LISTEN connection, the upstream session, the ledger spool and its flusher
process, and closes them all on exit. ``gateway_ready(app)`` is ``(ok, detail)`` for /readyz
("catalog loaded"). Serve with uvloop and httptools (``uvicorn --loop uvloop --http
httptools``, both in uvicorn[standard]).

Modules: config (MINERVA_GATEWAY_* knobs), state/loader/reload (the snapshot), auth,
validation, route (routing adapter), admission, upstream (aiohttp), attempts (fallbacks),
streaming, exchange/recording (ledger rows), spool/flusher (ledger I/O), metrics, chat (the
pipeline), strategies (CRUD), responses (errors), routes, runtime (the per-app object).
This package imports its heavy parts lazily, so ``python -m proxy.gateway.flusher`` starts fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minerva_core.settings import Settings
    from proxy.gateway.config import GatewayConfig
    from proxy.gateway.runtime import Gateway


def install_gateway(app: Any, settings: Settings, *, config: GatewayConfig | None = None) -> Gateway:
    """Add the gateway's routes and its (not yet started) runtime to ``app``."""
    from proxy.gateway.config import load_gateway_config
    from proxy.gateway.routes import FastPath, gateway_routes
    from proxy.gateway.runtime import Gateway

    gateway = Gateway(settings, config or load_gateway_config())
    app.state.gateway = gateway
    # First in the route list: Starlette matches routes in order, and the hot path should
    # not be compared against every admin route before its own.
    app.router.routes[0:0] = gateway_routes()
    # And the two hot routes skip the app's inner middleware and routing altogether.
    app.add_middleware(FastPath)
    return gateway


@asynccontextmanager
async def gateway_lifespan(app: Any) -> AsyncIterator[None]:
    """Start the gateway for the app's lifetime (enter it from create_app's lifespan; it
    yields nothing, so it can also be a FastAPI ``lifespan=`` by itself)."""
    gateway = app.state.gateway
    await gateway.start(getattr(app.state, "engine", None))
    try:
        yield
    finally:
        await gateway.stop()


def gateway_ready(app: Any) -> tuple[bool, str]:
    """(ready, detail) for /readyz: the gateway is started and its catalog is loaded."""
    gateway = getattr(app.state, "gateway", None)
    if gateway is None:
        return False, "gateway not installed"
    return gateway.ready()


async def gateway_readiness_check(app: Any) -> Any:
    """``gateway_ready`` in the shape of proxy.routes.health's readiness checks."""
    from proxy.routes.health import CheckResult

    ok, detail = gateway_ready(app)
    return CheckResult(ok, detail)


def __getattr__(name: str) -> Any:
    if name in ("GatewayConfig", "load_gateway_config"):
        from proxy.gateway import config

        return getattr(config, name)
    if name == "Gateway":
        from proxy.gateway.runtime import Gateway

        return Gateway
    if name == "ADMIN_PREFIX":
        from proxy.gateway.routes import ADMIN_PREFIX

        return ADMIN_PREFIX
    raise AttributeError(name)


__all__ = [
    "ADMIN_PREFIX",
    "Gateway",
    "GatewayConfig",
    "gateway_lifespan",
    "gateway_readiness_check",
    "gateway_ready",
    "install_gateway",
    "load_gateway_config",
]
