"""create_app(config): the emulator as a Starlette ASGI app (no validation layer on the hot path)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from minerva_core.emulator import account_routes, admin_routes, chat_routes, models_routes
from minerva_core.emulator.config import EmulatorConfig
from minerva_core.emulator.jsonbody import error_response
from minerva_core.emulator.state import EmulatorState, build_state


async def _crash(request: Request, exc: Exception) -> Response:
    return error_response(500, "Internal Server Error")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = {404: "Not Found", 405: "Method Not Allowed"}.get(status, "Internal Server Error")
    return error_response(status, message)


def create_app(config: EmulatorConfig | None = None, *, state: EmulatorState | None = None) -> Starlette:
    """A fresh emulator app; its state lives on `app.state.emulator`."""
    config = config or EmulatorConfig()
    app = Starlette(
        routes=[
            *models_routes.routes,
            *chat_routes.routes,
            *account_routes.routes,
            *admin_routes.routes,
        ],
        exception_handlers={404: _http_error, 405: _http_error, Exception: _crash},
    )
    app.state.emulator = state or build_state(config)
    return app
