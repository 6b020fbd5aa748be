"""The served OpenAPI document (/openapi.json): FastAPI's generated schema plus the gateway's
plain Starlette routes, which FastAPI cannot see, so clients and schemathesis get the whole API.

    install_openapi(app, max_tokens_limit=..., max_body_bytes=...)   # from create_app

What is added to FastAPI's document (``document_gateway``, pure):

    paths       POST /v1/chat/completions, GET /v1/models, GET /v1/key (virtual key);
                POST {ADMIN}/proxy/chat/completions, POST {ADMIN}/routing/recommend,
                GET|POST {ADMIN}/routing/strategies, GET|PUT|PATCH|DELETE .../{name} (admin
                token); GET /metrics (Prometheus text)
    security    VirtualKey and AdminToken, both HTTP bearer; every admin path requires
                AdminToken, the /v1 paths VirtualKey
    errors      the OpenAI-style Error body on every 4xx/5xx; FastAPI's "422" entries become
                "400", which is what the app answers for a body or parameter that does not
                validate (proxy.errors)

The gateway handlers stay as they are: this module only describes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from proxy.gateway.validation import ROLES

ADMIN = "/api/platform/ai-management/openrouter"
_REF = "#/components/schemas/"
_METHODS = ("get", "put", "post", "delete", "patch")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR_TEXT = {
    "400": "The request is invalid (the message names the parameter)",
    "401": "Missing, unknown, revoked or expired credentials",
    "402": "The key's budget for the period would be exceeded",
    "403": "The credentials may not use this path or model",
    "404": "Unknown model, strategy or resource",
    "409": "Conflicts with the current state",
    "413": "The body is over the size limit",
    "429": "Rate limit reached (see Retry-After)",
    "502": "Every upstream attempt failed",
    "503": "Not ready (catalog not loaded) or every candidate cooling down",
    "504": "The upstream did not answer in time",
}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: _json(_ref("Error"), _ERROR_TEXT[s]) for s in statuses}


def component_schemas(max_tokens_limit: int) -> dict[str, Any]:
    """The request and response schemas of the gateway's paths."""
    nullable_str = {"type": ["string", "null"]}  # OpenAPI 3.1: JSON Schema types
    tokens = {"type": "integer", "minimum": 1, "maximum": max_tokens_limit}
    chat_properties: dict[str, Any] = {
        "model": {"type": "string", "minLength": 1,
                  "description": "A catalog id (openai/gpt-4o-mini), a strategy alias (minerva/cheapest) "
                                 "or absent for the key's default strategy"},
        "models": {"type": "array", "items": {"type": "string", "minLength": 1},
                   "description": "OpenRouter's fallback list: tried in order"},
        "messages": {"type": "array", "minItems": 1, "items": _ref("ChatMessage")},
        "stream": {"type": "boolean"},
        "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
        "max_tokens": tokens,
        "max_completion_tokens": tokens,
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "top_p": {"type": "number", "minimum": 0, "maximum": 1},
        "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2},
        "presence_penalty": {"type": "number", "minimum": -2, "maximum": 2},
        "seed": {"type": "integer"},
        "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "tools": {"type": "array", "items": {"type": "object"}},
        "response_format": {"type": "object"},
        "provider": {"type": "object", "description": "OpenRouter's provider preferences; steer routing"},
        "user": {"type": "string"},
    }
    return {
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {
                "type": "object", "required": ["message", "type", "code"],
                "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                               "code": nullable_str, "param": nullable_str, "details": {"type": "object"}},
            }},
        },
        "ChatMessage": {
            "type": "object", "required": ["role"],
            "properties": {
                "role": {"type": "string", "enum": sorted(ROLES)},
                "content": {"oneOf": [
                    {"type": "null"},
                    {"type": "string"},
                    {"type": "array", "items": {"type": "object", "required": ["type"],
                                                "properties": {"type": {"type": "string"},
                                                               "text": {"type": "string"}}}},
                ]},
                "name": {"type": "string"},
                "tool_call_id": {"type": "string"},
            },
        },
        "ChatCompletionRequest": {"type": "object", "required": ["messages"], "properties": chat_properties},
        "RecommendRequest": {
            "type": "object", "required": ["messages"],
            "properties": {**chat_properties, "weights": {
                "type": "object", "description": "What-if weights of a custom strategy (not saved)",
                "properties": {w: {"type": "number", "minimum": 0} for w in ("cost", "latency", "quality")},
            }},
        },
        "ChatCompletion": {
            "type": "object", "required": ["id", "object", "choices"],
            "properties": {
                "id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"},
                "model": {"type": "string"}, "provider": {"type": "string"},
                "choices": {"type": "array", "items": {"type": "object"}},
                "usage": {"type": "object", "description": "Tokens and the upstream's exact cost (usage.cost)"},
            },
        },
        "Model": {"type": "object", "required": ["id", "object"],
                  "properties": {"id": {"type": "string"}, "object": {"type": "string"},
                                 "created": {"type": "integer"}, "owned_by": {"type": "string"}}},
        "ModelList": {"type": "object", "required": ["object", "data"],
                      "properties": {"object": {"type": "string", "enum": ["list"]},
                                     "data": {"type": "array", "items": _ref("Model")}}},
        "KeyInfo": {
            "type": "object", "required": ["data"],
            "properties": {"data": {"type": "object", "properties": {
                "label": {"type": "string", "description": "The key masked: its first and last characters"},
                "name": {"type": "string"},
                **{f: {**nullable_str, "description": "USD, decimal string, from the usage rollup"}
                   for f in ("usage", "usage_daily", "usage_weekly", "usage_monthly")},
                "usage_as_of": {**nullable_str, "format": "date-time"},
                "limit": {**nullable_str, "description": "The key's budget in USD for its period"},
                "limit_remaining": nullable_str,
                "limit_reset": {**nullable_str, "enum": ["daily", "monthly", None]},
                "rate_limit": {"type": ["object", "null"],
                               "properties": {"requests": {"type": ["integer", "null"]},
                                              "tokens": {"type": ["integer", "null"]},
                                              "interval": {"type": "string"}}},
                "is_free_tier": {"type": "boolean"},
                "expires_at": {**nullable_str, "format": "date-time"},
                "allowed_models": {"type": ["array", "null"], "items": {"type": "string"}},
                "default_strategy": nullable_str,
            }}},
        },
        "Recommendation": {"type": "object", "required": ["decision"],
                           "properties": {"decision": {"type": "object"}, "snapshot": {"type": "integer"}}},
        "StrategyWrite": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,62}$"},
                "alias": {**nullable_str, "pattern": "^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_.-]*$"},
                "description": nullable_str,
                "kind": {"type": "string", "enum": ["cheapest", "fastest", "balanced", "quality", "custom"]},
                "weights": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
                "requirements": {"type": "object"},
                "fallback_chain": {"type": "array", "items": {"type": "string"}},
                "is_default": {"type": "boolean"},
                "is_enabled": {"type": "boolean"},
            },
        },
        "Strategy": {"type": "object", "properties": {
            "name": {"type": "string"}, "alias": nullable_str, "description": nullable_str,
            "kind": {"type": "string"}, "weights": {"type": "object"}, "requirements": {"type": "object"},
            "fallback_chain": {"type": "array", "items": {"type": "string"}}, "is_default": {"type": "boolean"},
            "is_enabled": {"type": "boolean"}, "version": {"type": "integer"}, "builtin": {"type": "boolean"},
            "created_at": nullable_str, "updated_at": nullable_str,
        }},
        "StrategyList": {"type": "object", "properties": {"object": {"type": "string"},
                                                          "data": {"type": "array", "items": _ref("Strategy")}}},
    }


def _op(summary: str, tag: str, security: str | None, responses: dict[str, Any], *,
        body: str | None = None, parameters: list[dict[str, Any]] | None = None,
        body_limit: int | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    op["operationId"] = summary.lower().replace(" ", "_").replace("'", "")
    if security:
        op["security"] = [{security: []}]
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
        if body_limit:
            op["requestBody"]["description"] = f"At most {body_limit} bytes"
    return op


def gateway_paths(max_body_bytes: int) -> dict[str, Any]:
    """The path items of the gateway's routes."""
    chat_ok = {"description": "The completion, or with stream=true an SSE stream of chunks",
               "content": {"application/json": {"schema": _ref("ChatCompletion")},
                           "text/event-stream": {"schema": {"type": "string"}}}}
    chat_errors = _errors("400", "401", "402", "403", "404", "413", "429", "502", "503", "504")
    name = [{"name": "name", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,62}$"}}]
    admin_errors = _errors("400", "401", "403", "404", "409", "413", "503")
    strategies = f"{ADMIN}/routing/strategies"
    return {
        "/v1/chat/completions": {"post": _op(
            "Create chat completion", "openai", "VirtualKey", {"200": chat_ok, **chat_errors},
            body="ChatCompletionRequest", body_limit=max_body_bytes)},
        "/v1/models": {"get": _op("List models", "openai", "VirtualKey", {
            "200": _json(_ref("ModelList"), "The strategy aliases and models this key may use"),
            **_errors("401", "503")})},
        "/v1/key": {"get": _op("Get current key", "openai", "VirtualKey", {
            "200": _json(_ref("KeyInfo"), "The calling key's own label, usage, limit and rate limit"),
            **_errors("401", "503")})},
        f"{ADMIN}/proxy/chat/completions": {"post": _op(
            "Admin chat completion", "proxy", "AdminToken", {"200": chat_ok, **chat_errors},
            body="ChatCompletionRequest", body_limit=max_body_bytes)},
        f"{ADMIN}/routing/recommend": {"post": _op(
            "Recommend route", "routing", "AdminToken",
            {"200": _json(_ref("Recommendation"), "The routing decision, without calling upstream"),
             **admin_errors}, body="RecommendRequest", body_limit=max_body_bytes)},
        strategies: {
            "get": _op("List strategies", "routing", "AdminToken",
                       {"200": _json(_ref("StrategyList"), "Every strategy"), **_errors("401", "403")}),
            "post": _op("Create strategy", "routing", "AdminToken",
                        {"201": _json(_ref("Strategy"), "The new strategy"), **admin_errors}, body="StrategyWrite"),
        },
        strategies + "/{name}": {
            "get": _op("Get strategy", "routing", "AdminToken",
                       {"200": _json(_ref("Strategy"), "The strategy"), **admin_errors}, parameters=name),
            "put": _op("Replace strategy", "routing", "AdminToken",
                       {"200": _json(_ref("Strategy"), "The strategy"), **admin_errors},
                       body="StrategyWrite", parameters=name),
            "patch": _op("Update strategy", "routing", "AdminToken",
                         {"200": _json(_ref("Strategy"), "The strategy"), **admin_errors},
                         body="StrategyWrite", parameters=name),
            "delete": _op("Delete strategy", "routing", "AdminToken",
                          {"204": {"description": "Deleted"}, **admin_errors}, parameters=name),
        },
        "/metrics": {"get": {
            "summary": "Prometheus metrics", "operationId": "metrics", "tags": ["health"],
            "responses": {"200": {"description": "Prometheus text exposition",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }},
    }


SECURITY_SCHEMES = {
    "VirtualKey": {"type": "http", "scheme": "bearer",
                   "description": "A Minerva virtual API key (minerva keys create); the OpenAI SDK's api_key"},
    "AdminToken": {"type": "http", "scheme": "bearer", "description": "MINERVA_ADMIN_TOKEN"},
}


def document_gateway(schema: dict[str, Any], *, max_tokens_limit: int, max_body_bytes: int) -> dict[str, Any]:
    """FastAPI's generated ``schema`` with the gateway's paths, the security schemes and the
    error bodies merged in (modified in place and returned)."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(component_schemas(max_tokens_limit))
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            if path.startswith(ADMIN):
                op.setdefault("security", [{"AdminToken": []}])
                op["responses"].update(_errors("401", "403"))
            if "422" in op["responses"]:
                op["responses"].pop("422")
                op["responses"]["400"] = _json(_ref("Error"), _ERROR_TEXT["400"])
    schema.setdefault("paths", {}).update(gateway_paths(max_body_bytes))
    return schema


def install_openapi(app: Any, *, max_tokens_limit: int, max_body_bytes: int) -> None:
    """Make ``app.openapi()`` (and so /openapi.json and /docs) serve the whole API."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_gateway(generate(), max_tokens_limit=max_tokens_limit,
                                                  max_body_bytes=max_body_bytes)
        return app.openapi_schema

    app.openapi = openapi


__all__ = ["SECURITY_SCHEMES", "component_schemas", "document_gateway", "gateway_paths", "install_openapi"]
