"""GET analytics/usage: a time series of usage per bucket and group, from the usage views only.

    bucket hour           -> mv_usage_hourly[_by_key|_by_model] (recent window: views.hourly_since)
    bucket day/week/month -> mv_usage_daily[_by_key|_by_model] (day, week_start, month_start)

Of each family, the smallest view holding every dimension the query groups or filters by
answers it (views.USAGE_VIEWS): by model and provider, or by key and app, read a view 10-20x
smaller than the five-dimension one.

Every value a client sends is a bound parameter; the SQL text is assembled only from the
fixed fragments below, chosen by validated enum values.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from minerva_core.analytics import views
from minerva_core.analytics.params import DAY, HOUR, Bucket, as_utc_midnight
from minerva_core.analytics.results import USAGE_FIELDS, UsageMeasures, UsageReport, UsageRow
from minerva_core.errors import InvalidParameterError

MAX_ROWS = 10_000

# group_by name -> (column in the views, output name, SQL that maps the sentinel back)
GROUPS: dict[str, tuple[str, str, str]] = {
    "key": ("api_key_id", "api_key_id", f"NULLIF(api_key_id, '{views.NO_KEY}'::uuid)"),
    "app": ("app", "app", "NULLIF(app, '')"),
    "model": ("model_used", "model", "NULLIF(model_used, '')"),
    "provider": ("provider_name", "provider", "NULLIF(provider_name, '')"),
    "status": ("status_class", "status", "status_class"),
}
_BUCKET_COLUMN = {Bucket.HOUR: "bucket_start", Bucket.DAY: "day", Bucket.WEEK: "week_start", Bucket.MONTH: "month_start"}

# Every UsageMeasures field, in field order (rows are read positionally into the dataclass).
_MEASURE_EXPRESSIONS = {
    "errors": "coalesce(sum(requests) FILTER (WHERE status_class = 'error'), 0)::bigint",
    "cancelled": "coalesce(sum(requests) FILTER (WHERE status_class = 'cancelled'), 0)::bigint",
    "cost_usd": "sum(cost_usd)",
    "cost_estimated_usd": "sum(cost_estimated_usd)",
    "spend_usd": "sum(spend_usd)",
}
MEASURES_SQL = ",\n".join(
    f"       {_MEASURE_EXPRESSIONS.get(name, f'sum({name})::bigint')} AS {name}" for name in USAGE_FIELDS
)


@dataclass(frozen=True, slots=True)
class UsageFilter:
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    api_key_ids: tuple[uuid.UUID, ...] = ()
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UsageQuery:
    bucket: Bucket
    group_by: tuple[str, ...]
    start: datetime  # aligned: whole hours (bucket hour) or whole UTC days
    end: datetime
    filter: UsageFilter = UsageFilter()


def dimensions(query: UsageQuery) -> frozenset[str]:
    """Every dimension the query groups or filters by."""
    f = query.filter
    filtered = {name for name, values in (("model", f.models), ("provider", f.providers), ("app", f.apps),
                                          ("key", f.api_key_ids), ("status", f.statuses)) if values}
    return frozenset(query.group_by) | filtered


def source_view(query: UsageQuery) -> str:
    family = views.USAGE_VIEWS["hourly" if query.bucket is Bucket.HOUR else "daily"]
    needed = dimensions(query)
    return next(name for name, held in family if needed <= held)


def filter_sql(f: UsageFilter, params: dict[str, Any]) -> str:
    """AND-ed conditions over the usage views' columns, values bound (never formatted in)."""
    clauses = []
    for column, name, values, sql_type in (
        ("model_used", "models", f.models, "text[]"),
        ("provider_name", "providers", f.providers, "text[]"),
        ("app", "apps", f.apps, "text[]"),
        ("api_key_id", "api_key_ids", f.api_key_ids, "uuid[]"),
        ("status_class", "statuses", f.statuses, "text[]"),
    ):
        if values:
            params[name] = list(values)
            clauses.append(f"{column} = ANY(CAST(:{name} AS {sql_type}))")
    return "".join(f" AND {clause}" for clause in clauses)


def usage_sql(query: UsageQuery, limit: int = MAX_ROWS + 1) -> tuple[str, dict[str, Any]]:
    bucket_col = _BUCKET_COLUMN[query.bucket]
    source = source_view(query)
    if query.bucket is Bucket.HOUR:
        range_sql = "bucket_start >= :start AND bucket_start < :end"
        params: dict[str, Any] = {"start": query.start, "end": query.end}
    else:
        range_sql = "day >= :start AND day < :end"
        params = {"start": query.start.date(), "end": query.end.date()}
    params["limit"] = limit
    group_cols = [GROUPS[g][0] for g in query.group_by]
    selects = "".join(f"       {GROUPS[g][2]} AS {GROUPS[g][1]},\n" for g in query.group_by)
    keys = ", ".join([bucket_col, *group_cols])
    sql = (
        f"SELECT {bucket_col} AS bucket,\n{selects}{MEASURES_SQL}\n"
        f"  FROM {source}\n WHERE {range_sql}{filter_sql(query.filter, params)}\n"
        f" GROUP BY {keys}\n ORDER BY {keys}\n LIMIT :limit"
    )
    return sql, params


def _bucket_instant(value: date | datetime) -> datetime:
    return views.utc(value) if isinstance(value, datetime) else as_utc_midnight(value)


def check_hourly_window(query: UsageQuery, since: datetime) -> None:
    if query.bucket is Bucket.HOUR and query.start < since:
        raise InvalidParameterError(
            f"bucket=hour covers only the hours since {since.isoformat()} (mv_usage_hourly keeps "
            f"35 days); ask from that instant on, or use bucket=day",
            param="from",
        )


def usage_report(conn: Connection, query: UsageQuery, *, since: datetime) -> UsageReport:
    check_hourly_window(query, since)
    sql, params = usage_sql(query)
    rows = views.fetch(conn, sql, params, mappings=False)  # (bucket, *groups, *measures) tuples
    if len(rows) > MAX_ROWS:
        raise InvalidParameterError(
            f"the answer would have more than {MAX_ROWS} rows: narrow from/to, use a coarser bucket "
            f"or fewer group_by values",
            param="group_by" if query.group_by else "bucket",
        )
    names = [GROUPS[g][1] for g in query.group_by]
    first = 1 + len(names)
    key_at = 1 + query.group_by.index("key") if "key" in query.group_by else None
    labels = key_names(conn, {row[key_at] for row in rows if row[key_at]}) if key_at else {}
    out = []
    for row in rows:
        group = dict(zip(names, row[1:first]))
        if key_at:
            group["key_name"] = labels.get(row[key_at])
        out.append(UsageRow(_bucket_instant(row[0]), group, UsageMeasures(*row[first:])))
    totals = UsageMeasures(*(sum(column) for column in zip(*(row[first:] for row in rows)))) if rows else UsageMeasures()
    source = source_view(query)
    return UsageReport(
        bucket=query.bucket.value, group_by=query.group_by, start=query.start, end=query.end, rows=out,
        totals=totals, source=source, refreshed_at=views.refreshed_at(conn, source), hourly_since=since,
    )


def key_names(conn: Connection, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the api keys among ``ids`` (for labels; api_keys is small and indexed)."""
    if not ids:
        return {}
    rows = views.fetch(conn, "SELECT id, name FROM api_keys WHERE id = ANY(CAST(:ids AS uuid[]))", {"ids": list(ids)})
    return {row["id"]: row["name"] for row in rows}


def step_for(bucket: Bucket):
    return HOUR if bucket is Bucket.HOUR else DAY
