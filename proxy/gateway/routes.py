"""The gateway's HTTP routes: thin handlers over the modules of this package. Plain
Starlette routes (no FastAPI dependency resolution or pydantic on these paths); every
error is an OpenAI-style body (``responses.api_error_response``).

    POST   /v1/chat/completions                                   virtual key
    GET    /v1/models                                             virtual key
    POST   {ADMIN}/proxy/chat/completions                         admin token, api_key_id null
    POST   {ADMIN}/routing/recommend                              admin token
    GET    {ADMIN}/routing/strategies                             admin token
    POST   {ADMIN}/routing/strategies                             admin token
    GET | PUT | PATCH | DELETE  {ADMIN}/routing/strategies/{name} admin token
    GET    /metrics                                               Prometheus text

ADMIN = /api/platform/ai-management/openrouter

Feature flags (proxy.gateway.flags, in memory): with ENABLE_OPENROUTER_PROVIDER off the chat,
models and admin proxy paths answer 503 feature_disabled once the caller is authenticated;
with ENABLE_OPENROUTER_ROUTING off recommend and strategies do, and chat goes to the named
model only.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from minerva_core.errors import ApiError, ServiceUnavailableError
from proxy.gateway import strategies as crud
from proxy.gateway.auth import authenticate, check_admin
from proxy.gateway.chat import chat_completion, parse_json, read_body
from proxy.gateway.key_info import key_info
from proxy.gateway.responses import JSON, api_error_response, dumps, json_response
from proxy.gateway.route import choose_route, decide_route, decision_json
from proxy.gateway.validation import check_chat_body

log = logging.getLogger(__name__)
ADMIN_PREFIX = "/api/platform/ai-management/openrouter"
Handler = Callable[[Request], Awaitable[Response]]


def _gw(request: Request) -> Any:
    return request.app.state.gateway


def _snapshot(gw: Any) -> Any:
    if gw.snapshot is None:
        raise ServiceUnavailableError("the model catalog is not loaded yet; retry shortly", code="catalog_not_loaded")
    return gw.snapshot


def api(handler: Handler) -> Handler:
    """Render ApiError as its OpenAI-style answer."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return api_error_response(exc)

    return wrapped


def needs(area: str) -> Callable[[Handler], Handler]:
    """503 feature_disabled when the area's flag is off here (read from memory)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: Request) -> Response:
            flags = _gw(request).flags
            if not flags.on(area):
                raise flags.disabled(area)
            return await handler(request)

        return wrapped

    return decorate


def admin(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        check_admin(request.headers.get("authorization"), _gw(request).admin_token)
        return await handler(request)

    return api(wrapped)


async def chat(request: Request) -> Response:
    gw = _gw(request)
    flags = gw.flags
    if not flags.on("provider"):
        return await _provider_off(request, admin=False)
    return await chat_completion(gw, request, admin=False, direct=not flags.on("routing"))


async def admin_chat(request: Request) -> Response:
    gw = _gw(request)
    flags = gw.flags
    if not flags.on("provider"):
        return await _provider_off(request, admin=True)
    return await chat_completion(gw, request, admin=True, direct=not flags.on("routing"))


async def _provider_off(request: Request, *, admin: bool) -> Response:
    """Authenticate as the path would, then answer that the provider is switched off."""
    gw = _gw(request)
    header = request.headers.get("authorization")
    try:
        if admin:
            check_admin(header, gw.admin_token)
        else:
            authenticate(_snapshot(gw), header, datetime.now(UTC))
        raise gw.flags.disabled("provider")
    except ApiError as exc:
        return api_error_response(exc)


@api
async def list_models(request: Request) -> Response:
    gw = _gw(request)
    snapshot = _snapshot(gw)
    key = authenticate(snapshot, request.headers.get("authorization"), datetime.now(UTC))
    flags = gw.flags
    if not flags.on("provider"):
        raise flags.disabled("provider")
    scope = snapshot.scope_of(key)
    if not flags.on("routing"):
        return Response(flags.models_body(snapshot, scope), media_type=JSON)
    return Response(snapshot.models_body(scope, key, dumps), media_type=JSON)


@admin
@needs("routing")
async def recommend(request: Request) -> Response:
    gw = _gw(request)
    snapshot = _snapshot(gw)
    body = parse_json(await read_body(request, gw.config.max_body_bytes))
    weights = body.pop("weights", None) if isinstance(body, dict) else None
    check_chat_body(body, max_tokens_limit=gw.config.max_tokens_limit)
    choice = choose_route(snapshot, body, None, default_max_tokens=gw.config.default_max_tokens)
    if weights is not None:
        choice = _what_if(choice, weights)
    now = datetime.now(UTC)
    mono = time.monotonic()
    decision = decide_route(snapshot, choice, cooling=gw.cooling(mono), today=now.date(),
                            cache_size=0, cooldown_left=gw.cooldown_left(mono))
    return json_response({"decision": decision_json(decision), "snapshot": snapshot.serial})


def _what_if(choice: Any, weights: Any) -> Any:
    """Recommend with ad-hoc custom weights (the admin's sliders), without saving a strategy."""
    from dataclasses import replace

    from minerva_core.errors import InvalidParameterError, InvalidStrategyError
    from minerva_core.routing import make_strategy, strategy_weights

    if not isinstance(weights, dict):
        raise InvalidParameterError("weights must be an object {cost, latency, quality}", param="weights")
    try:
        strategy = make_strategy("what-if", "custom", weights=weights)
    except InvalidStrategyError as exc:
        raise InvalidParameterError(str(exc), param="weights") from None
    choice.catalog.warm([strategy_weights(strategy)])
    return replace(choice, strategy=replace(choice.strategy, strategy=strategy, alias=None))


async def _db(gw: Any, work: Callable[[Any], Any]) -> Any:
    def run() -> Any:
        with gw.engine.begin() as conn:
            return work(conn)

    return await asyncio.to_thread(run)


async def _reload(gw: Any) -> None:
    try:
        await gw.store.reload("admin write")
    except Exception as exc:  # NOTIFY and the poll will catch up
        log.warning("reload after a strategy write failed: %s", exc.__class__.__name__)


@admin
@needs("routing")
async def strategies_list(request: Request) -> Response:
    rows = await _db(_gw(request), crud.list_strategies)
    return json_response({"object": "list", "data": rows})


@admin
@needs("routing")
async def strategy_get(request: Request) -> Response:
    name = request.path_params["name"]
    return json_response(await _db(_gw(request), lambda conn: crud.get_strategy(conn, name)))


@admin
@needs("routing")
async def strategy_create(request: Request) -> Response:
    gw = _gw(request)
    body = parse_json(await read_body(request, gw.config.max_body_bytes))
    values = crud.strategy_values(body, known_models=_snapshot(gw).catalog.index)
    row = await _db(gw, lambda conn: crud.create_strategy(conn, values))
    await _reload(gw)
    return json_response(row, status=201)


@admin
@needs("routing")
async def strategy_update(request: Request) -> Response:
    gw = _gw(request)
    name = request.path_params["name"]
    body = parse_json(await read_body(request, gw.config.max_body_bytes))
    known = _snapshot(gw).catalog.index

    def work(conn: Any) -> Any:
        current = crud.get_strategy(conn, name)
        return crud.update_strategy(conn, name, crud.strategy_values(body, known_models=known, current=current))

    row = await _db(gw, work)
    await _reload(gw)
    return json_response(row)


@admin
@needs("routing")
async def strategy_delete(request: Request) -> Response:
    gw = _gw(request)
    name = request.path_params["name"]
    await _db(gw, lambda conn: crud.delete_strategy(conn, name))
    await _reload(gw)
    return Response(status_code=204)


async def metrics(request: Request) -> Response:
    gw = _gw(request)
    return Response(gw.metrics.render(), media_type=gw.metrics.content_type)


class FastPath:
    """ASGI middleware that hands the two hot routes (POST /v1/chat/completions, GET
    /v1/models) straight to their handlers, skipping the exception middleware, the exit
    stack and route matching of the app (about 40 µs a request). Everything else, and
    the same routes with other methods, goes through the app as usual; the routes stay
    registered there too, so the OpenAPI listing and 405s are unchanged. Errors these
    handlers do not answer themselves still reach the outermost ServerErrorMiddleware."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.handlers = {("POST", "/v1/chat/completions"): chat, ("GET", "/v1/models"): list_models}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            handler = self.handlers.get((scope["method"], scope["path"]))
            if handler is not None:
                response = await handler(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def gateway_routes() -> list[Route]:
    strategies = f"{ADMIN_PREFIX}/routing/strategies"
    return [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/key", key_info, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/proxy/chat/completions", admin_chat, methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/routing/recommend", recommend, methods=["POST"]),
        Route(strategies, strategies_list, methods=["GET"]),
        Route(strategies, strategy_create, methods=["POST"]),
        Route(strategies + "/{name}", strategy_get, methods=["GET"]),
        Route(strategies + "/{name}", strategy_update, methods=["PUT", "PATCH"]),
        Route(strategies + "/{name}", strategy_delete, methods=["DELETE"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


__all__ = ["ADMIN_PREFIX", "FastPath", "gateway_routes"]
