"""Every error the app answers, as an OpenAI-style body with the right status:

    {"error": {"message": "...", "type": "invalid_request_error", "code": "...", "param": "limit"}}

Mapping, by exception type (never by message text):

    ApiError (minerva_core.errors)        its own status, type, code, param (+ details)
    RequestValidationError                400 invalid_request_error; message and param name the field
    HTTPException (unknown route, 405)    its status
    NoSecretKeysError, InvalidSecretKeyError, FlowLaunchError, DatabaseError,
    sqlalchemy OperationalError/InterfaceError                              503 service_unavailable
    sqlalchemy DataError                  400 invalid_request_error, code invalid_value: a request value
                                          PostgreSQL cannot take (a NUL character, a number out of range)
    CredentialNotFoundError               404 · other CredentialError 400 · DecryptionError 500
    UpstreamError                         502 upstream_error
    anything else                         500 server_error, a fixed message; the traceback goes to
                                          the server log only

Messages never carry a request's input values (so no secret a client sent comes back), and
no stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from minerva_core.errors import (
    ApiError,
    CredentialError,
    CredentialNotFoundError,
    DatabaseError,
    DecryptionError,
    FlowLaunchError,
    InvalidSecretKeyError,
    MinervaError,
    NoSecretKeysError,
    UnauthorizedError,
    UpstreamError,
)

log = logging.getLogger(__name__)

_HTTP_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error",
    413: "invalid_request_error", 415: "invalid_request_error", 429: "rate_limit_error",
}


def error_body(
    message: str, error_type: str, code: str | None = None, param: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code, "param": param}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(
    status: int, message: str, error_type: str, code: str | None = None, param: str | None = None,
    *, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(message, error_type, code, param, details), status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": 'Bearer realm="minerva"'} if isinstance(exc, UnauthorizedError) else None
    return error_response(
        exc.status_code, exc.message, exc.error_type, exc.code, exc.param, details=exc.details, headers=headers
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _describe(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "json_invalid":
        return "the request body is not valid JSON"
    message = str(err.get("msg", "is invalid"))
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{_field(tuple(err.get('loc', ())))}: {message}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    # Only loc and msg are used: pydantic's "input" would echo what the client sent (secrets too).
    described = "; ".join(_describe(err) for err in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    param = _field(tuple(errors[0].get("loc", ()))) if errors else None
    if errors and errors[0].get("type") == "json_invalid":
        param = None
    return error_response(400, f"invalid request: {described}{more}", "invalid_request_error",
                          "invalid_request", param)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        message = f"{request.method} {request.url.path} is not a route of this API"
        code = "route_not_found"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        code = "method_not_allowed"
    else:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        code = None
    error_type = _HTTP_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return error_response(status, message, error_type, code, headers=getattr(exc, "headers", None))


def _minerva_status(exc: MinervaError) -> tuple[int, str, str]:
    if isinstance(exc, (NoSecretKeysError, InvalidSecretKeyError)):
        return 503, "service_unavailable", "secret_keys_unavailable"
    if isinstance(exc, DecryptionError):
        return 500, "server_error", "credential_unreadable"
    if isinstance(exc, CredentialNotFoundError):
        return 404, "not_found_error", "credential_not_found"
    if isinstance(exc, CredentialError):
        return 400, "invalid_request_error", "invalid_credential"
    if isinstance(exc, FlowLaunchError):
        return 503, "service_unavailable", "flow_launch_failed"
    if isinstance(exc, DatabaseError):
        return 503, "service_unavailable", "database_unavailable"
    if isinstance(exc, UpstreamError):
        return 502, "upstream_error", "upstream_failed"
    return 500, "server_error", "internal_error"


async def _minerva_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MinervaError)
    status, error_type, code = _minerva_status(exc)
    if status >= 500:
        log.error("%s %s failed: %s: %s", request.method, request.url.path, exc.__class__.__name__, exc)
    # Minerva's own messages are written never to contain a secret (see minerva_core.errors).
    return error_response(status, str(exc), error_type, code)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s: database unavailable: %s", request.method, request.url.path, exc.__class__.__name__)
    return error_response(503, "the database is not reachable; try again shortly", "service_unavailable",
                          "database_unavailable")


async def _invalid_value(request: Request, exc: Exception) -> JSONResponse:
    # The driver's message can quote the value; only the class goes to the log and none to the client.
    log.warning("%s %s: a value was refused by the database: %s", request.method, request.url.path,
                exc.__class__.__name__)
    return error_response(400, "a value in the request cannot be used: it holds a NUL character, or a number or "
                               "text the database cannot represent", "invalid_request_error", "invalid_value")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal server error; the details are in the server log", "server_error",
                          "internal_error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(MinervaError, _minerva_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(DataError, _invalid_value)
    app.add_exception_handler(Exception, _unexpected)


__all__ = ["error_body", "error_response", "install_error_handlers"]
