"""GET /v1/key: what the calling virtual key may know about itself, in the shape of
OpenRouter's ``GET /api/v1/key``::

    {"data": {"label": "mk-ab12...xyz", "name": "billing-app", "usage": "1.25",
              "usage_daily": "0.10", "usage_weekly": "0.80", "usage_monthly": "1.25",
              "usage_as_of": "2026-08-19T10:05:00+00:00",
              "limit": "50.00", "limit_remaining": "48.75", "limit_reset": "monthly",
              "rate_limit": {"requests": 60, "tokens": 100000, "interval": "1m"},
              "is_free_tier": false, "expires_at": null, "allowed_models": null,
              "default_strategy": "balanced"}}

There is no parameter: the key is the bearer token itself, so a key can only ever read its
own figures. Everything but the usage figures comes from memory (the snapshot's key and the
admission's budget tracker, live); the usage figures come from the ``mv_usage_daily_by_key``
rollup (as of its last refresh, ``usage_as_of``), never from a scan of the ledger. A rollup
that was never refreshed gives null usage figures. Money is a decimal string (USD).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response

from minerva_core.errors import ApiError, ServiceUnavailableError
from proxy.gateway.auth import authenticate, bearer_token
from proxy.gateway.responses import api_error_response, json_response
from proxy.gateway.state import KeyInfo

log = logging.getLogger(__name__)
ZERO = Decimal(0)
_RESETS = {"day": "daily", "month": "monthly"}

USAGE_SQL = text(
    """
    SELECT coalesce(sum(spend_usd), 0)                                 AS total,
           coalesce(sum(spend_usd) FILTER (WHERE day = :today), 0)     AS daily,
           coalesce(sum(spend_usd) FILTER (WHERE day >= :week), 0)     AS weekly,
           coalesce(sum(spend_usd) FILTER (WHERE day >= :month), 0)    AS monthly,
           (SELECT max(started_at) FROM materialized_view_refreshes
             WHERE view_name = 'mv_usage_daily_by_key' AND status = 'succeeded') AS as_of
      FROM mv_usage_daily_by_key
     WHERE api_key_id = CAST(:key_id AS uuid)
    """
)


def masked_label(token: str) -> str:
    """The key as a caller can recognise it without it being usable: ``mk-ab12...xyz``."""
    if len(token) <= 12:
        return token[:2] + "..."
    return f"{token[:7]}...{token[-3:]}"


def read_usage(engine: Engine, key_id: str, today: date) -> dict[str, Any] | None:
    """The key's spend from the rollup, or None when the rollup cannot answer (never
    refreshed, or the database is away)."""
    params = {"key_id": key_id, "today": today, "week": today - timedelta(days=today.weekday()),
              "month": today.replace(day=1)}
    try:
        with engine.connect() as conn:
            row = conn.execute(USAGE_SQL, params).one()
    except DBAPIError as exc:
        log.warning("key usage rollup unavailable: %s", exc.__class__.__name__)
        return None
    return dict(row._mapping)


def key_body(key: KeyInfo, label: str, usage: dict[str, Any] | None, budget_left: Decimal | None) -> dict[str, Any]:
    """The response body. Pure."""
    figure = (lambda name: None) if usage is None else (lambda name: str(usage[name]))
    as_of = None if usage is None or usage.get("as_of") is None else usage["as_of"].isoformat()
    rate = None
    if key.rpm_limit or key.tpm_limit:
        rate = {"requests": key.rpm_limit, "tokens": key.tpm_limit, "interval": "1m"}
    budgeted = key.budget_usd is not None and bool(key.budget_period)
    return {"data": {
        "label": label,
        "name": key.name,
        "usage": figure("total"),
        "usage_daily": figure("daily"),
        "usage_weekly": figure("weekly"),
        "usage_monthly": figure("monthly"),
        "usage_as_of": as_of,
        "limit": str(key.budget_usd) if budgeted else None,
        "limit_remaining": str(max(budget_left, ZERO)) if budgeted and budget_left is not None else None,
        "limit_reset": _RESETS.get(key.budget_period or "") if budgeted else None,
        "rate_limit": rate,
        "is_free_tier": False,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "allowed_models": sorted(key.allowed_models) if key.allowed_models is not None else None,
        "default_strategy": key.default_strategy,
    }}


def _budget_left(gw: Any, key: KeyInfo, now: datetime) -> Decimal | None:
    if key.budget_usd is None or not key.budget_period:
        return None
    budgets = gw.admission.budgets
    remaining = getattr(budgets, "remaining", None)
    return remaining(key.id, key.budget_usd, key.budget_period, now) if remaining else None


async def key_info(request: Request) -> Response:
    gw = request.app.state.gateway
    try:
        snapshot = gw.snapshot
        if snapshot is None:
            raise ServiceUnavailableError("the key list is not loaded yet; retry shortly", code="catalog_not_loaded")
        header = request.headers.get("authorization")
        now = datetime.now(UTC)
        key = authenticate(snapshot, header, now)
    except ApiError as exc:
        return api_error_response(exc)
    usage = await asyncio.to_thread(read_usage, gw.engine, key.id, now.date()) if gw.engine is not None else None
    return json_response(key_body(key, masked_label(bearer_token(header)), usage, _budget_left(gw, key, now)))


__all__ = ["key_body", "key_info", "masked_label", "read_usage"]
