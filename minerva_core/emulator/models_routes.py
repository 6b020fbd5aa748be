"""GET /models, /models/count and /models/{author}/{slug}/endpoints (public, like the real API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from minerva_core.emulator.auth import bearer_key
from minerva_core.emulator.guard import guarded
from minerva_core.emulator.jsonbody import bytes_response, error_response, json_response
from minerva_core.emulator.listing import ModelQuery, QueryError, parse_query


@guarded
async def list_models(request: Request) -> Response:
    try:
        query = parse_query(request.query_params)
    except QueryError as exc:
        return error_response(400, str(exc))
    return bytes_response(request.app.state.emulator.listing.page(query))


@guarded
async def count_models(request: Request) -> Response:
    try:
        query = parse_query(request.query_params)
    except QueryError as exc:
        return error_response(400, str(exc))
    query = ModelQuery(output_modalities=query.output_modalities)
    return json_response({"data": {"count": request.app.state.emulator.listing.count(query)}})


@guarded
async def list_endpoints(request: Request) -> Response:
    state = request.app.state.emulator
    path_id = f"{request.path_params['author']}/{request.path_params['slug']}"
    model = state.catalog.lookup(path_id)
    if model is None:
        return error_response(404, f"Model {path_id} not found")
    raw = model.raw
    architecture = dict(raw.get("architecture") or {})
    for key in ("tokenizer", "instruct_type", "modality"):
        architecture.setdefault(key, None)
    architecture.setdefault("input_modalities", ["text"])
    architecture.setdefault("output_modalities", ["text"])
    with_latency = bearer_key(request) is not None
    endpoints = state.plan.endpoints.for_model(model)
    return json_response(
        {
            "data": {
                "id": model.id,
                "name": raw.get("name", model.id),
                "created": raw.get("created", 0),
                "description": raw.get("description", ""),
                "architecture": architecture,
                "endpoints": [e.as_json(model, with_latency=with_latency) for e in endpoints],
            }
        }
    )


routes = [
    Route("/api/v1/models", list_models, methods=["GET"]),
    Route("/api/v1/models/count", count_models, methods=["GET"]),
    Route("/api/v1/models/{author}/{slug}/endpoints", list_endpoints, methods=["GET"]),
]
