"""The append-only audit trail (migration_audit): who did what to which feature, flag or
legacy import, the state before and after, when, and why.

Rows are written inside the caller's transaction, so a change and its audit row commit (or
roll back) together. The table refuses UPDATE, DELETE and TRUNCATE (a trigger).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from minerva_core.errors import InvalidParameterError

ENTITY_TYPES = ("feature", "flag", "legacy")
MAX_PAGE = 500
SYSTEM_ACTOR = "guardrails"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    entity_type: str
    entity: str
    action: str
    before: dict | None
    after: dict | None
    reason: str | None


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=_encode, sort_keys=True)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot audit a {type(value).__name__}")


def record(
    conn: Connection, *, actor: str, entity_type: str, entity: str, action: str,
    before: dict | None = None, after: dict | None = None, reason: str | None = None,
) -> int:
    """Append one audit row in the caller's transaction; returns its id."""
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"entity_type must be one of {ENTITY_TYPES}")
    return conn.execute(
        text(
            "INSERT INTO migration_audit (actor, entity_type, entity, action, before, after, reason) "
            "VALUES (:actor, :type, :entity, :action, CAST(:before AS jsonb), CAST(:after AS jsonb), :reason) "
            "RETURNING id"
        ),
        {"actor": actor or "unknown", "type": entity_type, "entity": entity, "action": action,
         "before": _json(before), "after": _json(after), "reason": reason},
    ).scalar_one()


def list_entries(
    conn: Connection, *, entity_type: str | None = None, entity: str | None = None,
    before_id: int | None = None, limit: int = 50,
) -> tuple[list[AuditEntry], int | None]:
    """Newest first, keyset-paged: pass the returned cursor as ``before_id`` for the next page
    (None when there is no more)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidParameterError(f"limit must be between 1 and {MAX_PAGE}", param="limit")
    if entity_type is not None and entity_type not in ENTITY_TYPES:
        raise InvalidParameterError(f"entity_type must be one of {', '.join(ENTITY_TYPES)}", param="entity_type")
    where, params = [], {"limit": limit + 1}
    if entity_type is not None:
        where.append("entity_type = :type")
        params["type"] = entity_type
    if entity is not None:
        where.append("entity = :entity")
        params["entity"] = entity
    if before_id is not None:
        where.append("id < :before_id")
        params["before_id"] = before_id
    sql = (
        "SELECT id, at, actor, entity_type, entity, action, before, after, reason FROM migration_audit "
        + ("WHERE " + " AND ".join(where) + " " if where else "")
        + "ORDER BY id DESC LIMIT :limit"
    )
    rows = conn.execute(text(sql), params).all()
    entries = [AuditEntry(**row._mapping) for row in rows[:limit]]
    cursor = entries[-1].id if len(rows) > limit else None
    return entries, cursor


__all__ = ["ENTITY_TYPES", "MAX_PAGE", "SYSTEM_ACTOR", "AuditEntry", "list_entries", "record"]
