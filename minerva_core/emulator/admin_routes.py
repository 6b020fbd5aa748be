"""/__emulator/*: arm and clear faults, reset state, check health (no auth; test use only).

    POST   /__emulator/faults  {"model": "openai/gpt-4o", "fault": "429", "count": 2}
           ("path": "/models" instead of "model" fails that /api/v1 route; count null = until cleared)
    GET    /__emulator/faults
    DELETE /__emulator/faults[?target=openai/gpt-4o]
    POST   /__emulator/reset   faults back to the configured ones; generations, spend, cache cleared
    GET    /__emulator/health
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from minerva_core.emulator.jsonbody import error_response, json_response


async def arm_fault(request: Request) -> Response:
    state = request.app.state.emulator
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return error_response(400, "body must be JSON")
    if not isinstance(body, dict):
        return error_response(400, "body must be a JSON object")
    target = body.get("model") or body.get("path") or body.get("target")
    if not isinstance(target, str) or not target:
        return error_response(400, "give \"model\" (a model id) or \"path\" (e.g. \"/models\")")
    count = body.get("count", 1)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        return error_response(400, "\"count\" must be an integer or null")
    try:
        fault = state.faults.arm(target, str(body.get("fault", "")), count)
    except ValueError as exc:
        return error_response(400, str(exc))
    return json_response({"armed": fault.as_dict(), "faults": state.faults.listing()})


async def list_faults(request: Request) -> Response:
    return json_response({"faults": request.app.state.emulator.faults.listing()})


async def clear_faults(request: Request) -> Response:
    state = request.app.state.emulator
    cleared = state.faults.clear(request.query_params.get("target") or request.query_params.get("model"))
    return json_response({"cleared": cleared, "faults": state.faults.listing()})


async def reset(request: Request) -> Response:
    state = request.app.state.emulator
    state.reset()
    return json_response({"reset": True, "faults": state.faults.listing()})


async def health(request: Request) -> Response:
    state = request.app.state.emulator
    return json_response(
        {
            "ok": True,
            "models": len(state.catalog),
            "snapshot": state.config.snapshot_path.name,
            "generations": len(state.generations),
            "total_usage": state.ledger.total,
        }
    )


routes = [
    Route("/__emulator/faults", arm_fault, methods=["POST"]),
    Route("/__emulator/faults", list_faults, methods=["GET"]),
    Route("/__emulator/faults", clear_faults, methods=["DELETE"]),
    Route("/__emulator/reset", reset, methods=["POST"]),
    Route("/__emulator/health", health, methods=["GET"]),
]
