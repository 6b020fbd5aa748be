"""Reading the analytics views: sentinels, the refresh time, and the one error mapping.

The views (sql/20261128002000_analytics_views.sql) store sentinels for NULL grouping
columns so their unique indexes can serve REFRESH … CONCURRENTLY; queries map them back.
A view that was never refreshed cannot be read: that is answered as 503 (not ready), not as
a database failure.

Refresh cost, measured by bench/analytics_10m.py (10 M ledger rows over 90 days, a shared
2-CPU machine). Before 20261128004100/004200: 110-150 s per refresh run (mv_usage_daily
35-60 s, mv_usage_hourly 25-50 s, mv_cost_daily 20-50 s, mv_model_performance 14-22 s, the
derived views 13-17 s). Since: mv_cost_daily reads mv_usage_daily_by_model (0.1-0.2 s);
days older than a week are frozen into tables once (freeze_daily_rollups: 33 s for 60 days
at this size the first time, milliseconds per run after), so mv_usage_daily reads those
tables and mv_usage_hourly (3 s) and mv_savings_daily a week of the ledger (5-9 s). A run
takes 44-50 s, mostly mv_usage_hourly (15-19 s) and mv_model_performance (8-10 s), which
read fixed recent windows (35 and 14 days) and so no longer grow with history.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from minerva_core.errors import ServiceUnavailableError

NO_KEY = uuid.UUID(int=0)
UNKNOWN = ""
ALL_PROVIDERS = "*"
OBJECT_NOT_IN_PREREQUISITE_STATE = "55000"  # "materialized view ... has not been populated"

USAGE_HOURLY = "mv_usage_hourly"
USAGE_DAILY = "mv_usage_daily"
USAGE_DAILY_BY_KEY = "mv_usage_daily_by_key"  # mv_usage_daily summed over model and provider
USAGE_ALL_DIMENSIONS = frozenset({"key", "app", "model", "provider", "status"})
# Per bucket family, the usage views and the dimensions each holds, smallest first: a query
# reads the first one holding every dimension it groups or filters by.
USAGE_VIEWS = {
    "hourly": (
        ("mv_usage_hourly_by_key", frozenset({"key", "app", "status"})),
        ("mv_usage_hourly_by_model", frozenset({"model", "provider", "status"})),
        (USAGE_HOURLY, USAGE_ALL_DIMENSIONS),
    ),
    "daily": (
        (USAGE_DAILY_BY_KEY, frozenset({"key", "app", "status"})),
        ("mv_usage_daily_by_model", frozenset({"model", "provider", "status"})),
        (USAGE_DAILY, USAGE_ALL_DIMENSIONS),
    ),
}
COST_DAILY = "mv_cost_daily"
SAVINGS_DAILY = "mv_savings_daily"  # what the savings analysis reads (minerva_core/optimisation)
MODEL_PERFORMANCE = "mv_model_performance"


def fetch(conn: Connection, sql: str, params: Mapping[str, Any] | None = None, *, mappings: bool = True) -> Sequence[Any]:
    """Rows (mappings, or plain tuples) of a query over the views; an unpopulated view -> 503."""
    try:
        result = conn.execute(text(sql), dict(params or {}))
        return result.mappings().all() if mappings else result.all()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == OBJECT_NOT_IN_PREREQUISITE_STATE:
            conn.rollback()
            raise ServiceUnavailableError(
                "analytics are not ready: the materialized views have not been refreshed yet "
                "(the refresh flow runs every 5 minutes; `minerva flow run refresh` runs it now)",
                code="analytics_not_ready",
            ) from None
        raise


def refreshed_at(conn: Connection, *views: str) -> datetime | None:
    """When the oldest of ``views`` last started a successful refresh by the refresh flow
    (None when one never was, e.g. refreshed by hand)."""
    row = conn.execute(
        text(
            "SELECT min(last) AS at, count(last) AS n FROM ("
            "  SELECT (SELECT max(started_at) FROM materialized_view_refreshes r"
            "           WHERE r.view_name = v AND r.status = 'succeeded') AS last"
            "    FROM unnest(CAST(:views AS text[])) AS v) s"
        ),
        {"views": list(views)},
    ).one()
    return utc(row.at) if row.n == len(views) else None


NOW_AND_HOURLY_SINCE = text("SELECT now() AS now, analytics_hourly_since(now()) AS since")


def hourly_since(conn: Connection) -> datetime:
    """The first instant bucket=hour may ask for: every hour from it on is in mv_usage_hourly
    (the bound only moves forward between refreshes)."""
    return utc(conn.execute(text("SELECT analytics_hourly_since(now())")).scalar_one())


def now(conn: Connection) -> datetime:
    return utc(conn.execute(text("SELECT now()")).scalar_one())


def utc(value: datetime | None) -> datetime | None:
    """An instant from the database (in the session's TimeZone) as UTC."""
    return None if value is None else value.astimezone(timezone.utc)


def text_or_none(value: str) -> str | None:
    return None if value == UNKNOWN else value
