"""GET /generation, /activity, /key and /credits: the account's view of what was billed."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from minerva_core.emulator.auth import authenticate
from minerva_core.emulator.guard import guarded
from minerva_core.emulator.jsonbody import EMULATOR_USER_ID, error_response, json_response
from minerva_core.emulator.render import generation_json

_ZERO = Decimal(0)


@guarded
async def get_generation(request: Request) -> Response:
    state = request.app.state.emulator
    key = authenticate(request, state.config.require_key)
    if isinstance(key, Response):
        return key
    generation_id = request.query_params.get("id", "")
    if not generation_id:
        return error_response(400, "Missing required query parameter: id")
    generation = state.generations.visible(generation_id)
    if generation is None:
        return error_response(404, f"Generation {generation_id} not found")
    return json_response(generation_json(generation))


@guarded
async def get_activity(request: Request) -> Response:
    state = request.app.state.emulator
    key = authenticate(request, state.config.require_key)
    if isinstance(key, Response):
        return key
    on = request.query_params.get("date")
    day = None
    if on:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            return error_response(400, "date must be a UTC date in YYYY-MM-DD format")
    return json_response({"data": state.ledger.rows(on=day)})


@guarded
async def get_key(request: Request) -> Response:
    state = request.app.state.emulator
    key = authenticate(request, state.config.require_key)
    if isinstance(key, Response):
        return key
    usage = state.ledger.key_usage(key, datetime.now(timezone.utc))
    return json_response(
        {
            "data": {
                "label": f"{key[:12]}...{key[-3:]}" if len(key) > 15 else key,
                "limit": None,
                **usage,
                "byok_usage": _ZERO,
                "byok_usage_daily": _ZERO,
                "byok_usage_weekly": _ZERO,
                "byok_usage_monthly": _ZERO,
                "is_free_tier": False,
                "is_management_key": False,
                "is_provisioning_key": False,
                "limit_remaining": None,
                "limit_reset": None,
                "include_byok_in_limit": False,
                "creator_user_id": EMULATOR_USER_ID,
                "expires_at": None,
                "rate_limit": {
                    "requests": -1,
                    "interval": "10s",
                    "note": "This field is deprecated and safe to ignore.",
                },
            }
        }
    )


@guarded
async def get_credits(request: Request) -> Response:
    state = request.app.state.emulator
    key = authenticate(request, state.config.require_key)
    if isinstance(key, Response):
        return key
    return json_response(
        {"data": {"total_credits": state.config.total_credits, "total_usage": state.ledger.total}}
    )


routes = [
    Route("/api/v1/generation", get_generation, methods=["GET"]),
    Route("/api/v1/activity", get_activity, methods=["GET"]),
    Route("/api/v1/key", get_key, methods=["GET"]),
    Route("/api/v1/auth/key", get_key, methods=["GET"]),
    Route("/api/v1/credits", get_credits, methods=["GET"]),
]
