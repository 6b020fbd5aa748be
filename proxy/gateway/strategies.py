"""Admin CRUD of routing strategies (``routing_strategies``). Validation is pure
(``strategy_values``); the statements run in a worker thread off the event loop. A write
fires the table's NOTIFY, which reloads every proxy's snapshot; the writing process also
reloads at once so its answer and its next requests agree.

Rules: name ``^[a-z0-9][a-z0-9_.-]{0,62}$``; alias ``author/name`` in lower case (default
``minerva/<name>``; ``minerva/auto`` is reserved); kind cheapest|fastest|balanced|quality|
custom; weights an object of non-negative numbers (cost, latency, quality; custom needs a
positive sum); requirements as ``minerva_core.routing.strategies`` reads them;
fallback_chain model ids known to the catalog. The four built-ins cannot be deleted or
renamed, nor can the default strategy be deleted (make another one default first).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from minerva_core.errors import (
    ConflictError,
    InvalidParameterError,
    InvalidStrategyError,
    ResourceNotFoundError,
)
from minerva_core.routing import make_strategy
from proxy.gateway.state import AUTO_ALIAS, BUILTIN_NAMES

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
ALIAS = re.compile(r"^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_.-]*$")
FIELDS = ("name", "alias", "description", "kind", "weights", "requirements", "fallback_chain", "is_default",
          "is_enabled")
COLUMNS = ("name, alias, description, kind, weights, requirements, fallback_chain, is_default, is_enabled, "
           "version, created_at, updated_at")


def _bad(message: str, param: str) -> InvalidParameterError:
    return InvalidParameterError(message, param=param)


def strategy_values(body: Any, *, known_models: Any, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The column values of a create (``current`` None) or an update (only the given keys,
    checked together with the current row). Raises InvalidParameterError naming the field."""
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object", "body")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise _bad(f"unknown field(s): {', '.join(unknown)}", unknown[0])
    values: dict[str, Any] = {}
    if current is None:
        name = body.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise _bad("name must match ^[a-z0-9][a-z0-9_.-]{0,62}$", "name")
        values["name"] = name
    elif "name" in body and body["name"] != current["name"]:
        raise _bad("a strategy cannot be renamed; create a new one", "name")
    if "alias" in body or current is None:
        alias = body.get("alias", f"minerva/{values.get('name')}" if current is None else None)
        if alias is not None and (not isinstance(alias, str) or not ALIAS.match(alias) or alias == AUTO_ALIAS):
            raise _bad("alias must look like 'team/name' (lower case; minerva/auto is reserved)", "alias")
        if current is not None and current["name"] in BUILTIN_NAMES and alias != current["alias"]:
            raise _bad("the alias of a built-in strategy cannot change", "alias")
        values["alias"] = alias
    if "description" in body:
        if body["description"] is not None and not isinstance(body["description"], str):
            raise _bad("description must be a string", "description")
        values["description"] = body["description"]
    for flag in ("is_default", "is_enabled"):
        if flag in body:
            if not isinstance(body[flag], bool):
                raise _bad(f"{flag} must be true or false", flag)
            values[flag] = body[flag]
    weights = body.get("weights", None if current is None else current["weights"])
    if weights is not None:
        if not isinstance(weights, dict) or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in weights.values()
        ):
            raise _bad("weights must be an object of non-negative numbers", "weights")
    chain = body.get("fallback_chain", [] if current is None else current["fallback_chain"])
    if not isinstance(chain, list) or not all(isinstance(m, str) for m in chain):
        raise _bad("fallback_chain must be an array of model ids", "fallback_chain")
    missing = [m for m in chain if m not in known_models]
    if missing:
        raise _bad(f"fallback_chain names unknown model(s): {', '.join(missing)}", "fallback_chain")
    kind = body.get("kind", "balanced" if current is None else current["kind"])
    requirements = body.get("requirements", {} if current is None else current["requirements"])
    try:
        make_strategy(values.get("name") or (current or {}).get("name") or "x", kind, weights=weights,
                      requirements=requirements, fallback_chain=chain)
    except InvalidStrategyError as exc:
        param = "kind" if "kind" in str(exc) else "weights" if "weight" in str(exc) else "requirements"
        raise _bad(str(exc), param) from None
    for name, value in (("kind", kind), ("weights", weights or {}), ("requirements", requirements or {}),
                        ("fallback_chain", chain)):
        if current is None or name in body:
            values[name] = value
    if values.get("is_default") and values.get("is_enabled", True) is False:
        raise _bad("a default strategy must be enabled", "is_default")
    return values


def _row(r: Any) -> dict[str, Any]:
    out = dict(r._mapping)
    out["builtin"] = out["name"] in BUILTIN_NAMES
    for stamp in ("created_at", "updated_at"):
        if out.get(stamp) is not None:
            out[stamp] = out[stamp].isoformat()
    return out


def list_strategies(conn: Connection) -> list[dict[str, Any]]:
    return [_row(r) for r in conn.execute(text(f"SELECT {COLUMNS} FROM routing_strategies ORDER BY name"))]


def get_strategy(conn: Connection, name: str) -> dict[str, Any]:
    row = conn.execute(text(f"SELECT {COLUMNS} FROM routing_strategies WHERE name = :n"), {"n": name}).first()
    if row is None:
        raise ResourceNotFoundError(f"no routing strategy named '{name}'", code="strategy_not_found", param="name")
    return _row(row)


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for name in ("weights", "requirements"):
        if name in out:
            out[name] = orjson.dumps(out[name]).decode()
    return out


def _casts(name: str) -> str:
    return f"CAST(:{name} AS jsonb)" if name in ("weights", "requirements") else f":{name}"


def _write(conn: Connection, statement: str, params: Mapping[str, Any], name: str) -> None:
    """Run one INSERT/UPDATE (inside the caller's transaction); a new default first clears
    the old one (at most one row may be default)."""
    try:
        if params.get("is_default"):
            conn.execute(text("UPDATE routing_strategies SET is_default = false WHERE is_default AND name <> :n"),
                         {"n": name})
        conn.execute(text(statement), _params(params))
    except IntegrityError as exc:
        raise ConflictError("a strategy with that name or alias already exists", code="strategy_exists") from exc


def create_strategy(conn: Connection, values: Mapping[str, Any]) -> dict[str, Any]:
    cols = list(values)
    _write(conn, f"INSERT INTO routing_strategies ({', '.join(cols)}) VALUES ({', '.join(_casts(c) for c in cols)})",
           values, values["name"])
    return get_strategy(conn, values["name"])


def update_strategy(conn: Connection, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    if values:
        sets = ", ".join(f"{c} = {_casts(c)}" for c in values)
        _write(conn, f"UPDATE routing_strategies SET {sets} WHERE name = :_name", {**values, "_name": name}, name)
    return get_strategy(conn, name)


def delete_strategy(conn: Connection, name: str) -> None:
    current = get_strategy(conn, name)
    if name in BUILTIN_NAMES:
        raise ConflictError(f"'{name}' is a built-in strategy and cannot be deleted", code="builtin_strategy")
    if current["is_default"]:
        raise ConflictError(f"'{name}' is the default strategy; make another one default first",
                            code="default_strategy")
    conn.execute(text("DELETE FROM routing_strategies WHERE name = :n"), {"n": name})


__all__ = ["create_strategy", "delete_strategy", "get_strategy", "list_strategies", "strategy_values",
           "update_strategy"]
