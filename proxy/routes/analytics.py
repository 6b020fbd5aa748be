"""Admin analytics, answered from the rollup views only (never the raw ledger).

GET analytics/usage        time series per bucket (hour|day|week|month) and group
GET analytics/performance  per model (x provider) latency, errors, throughput, with trends
GET analytics/costs        spend breakdown, budget use, reconciled vs unreconciled, savings
                           (the optimiser over the daily savings rollup, mv_savings_daily;
                           savings=false leaves it out)

The router has no prefix and no auth of its own: the app mounts it under the admin prefix
with the admin dependency. Parameters are read as plain strings and checked by
minerva_core.analytics.params, so every refusal is a 400 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from minerva_core.analytics import (
    CostQuery,
    PerformanceQuery,
    UsageFilter,
    UsageQuery,
    cost_report,
    performance_report,
    usage_report,
)
from minerva_core.analytics import params as p
from minerva_core.analytics import views
from minerva_core.analytics.usage import step_for
from minerva_core.errors import InvalidParameterError
from minerva_core.optimisation.cache import CatalogCache
from proxy.deps import ConnDep
from proxy.schemas.analytics import (
    CostResponse,
    PerformanceResponse,
    UsageResponse,
    cost_response,
    json_bytes,
    performance_response,
    usage_response,
)

router = APIRouter(tags=["admin: analytics"])

Values = Annotated[list[str] | None, Query()]
One = Annotated[str | None, Query()]
FromParam = Annotated[str | None, Query(alias="from")]

USAGE_PARAMS = ("bucket", "group_by", "from", "to", "model", "provider", "app", "api_key_id", "status")
PERFORMANCE_PARAMS = ("window", "group_by", "model", "provider")
COST_PARAMS = ("from", "to", "group_by", "savings")


def _savings_cache(request: Request) -> CatalogCache:
    """The app's one CatalogCache (the parsed catalog and candidate pools, per catalog
    version), made on first use."""
    cache = getattr(request.app.state, "savings_catalog_cache", None)
    if cache is None:
        cache = request.app.state.savings_catalog_cache = CatalogCache()
    return cache


def _json(payload: dict) -> Response:
    # Serialised once (orjson); FastAPI does not re-validate a Response. response_model documents it.
    return Response(json_bytes(payload), media_type="application/json")


@router.get("/analytics/usage", response_model=UsageResponse)
def usage(
    request: Request, conn: ConnDep, bucket: One = None, group_by: Values = None, from_: FromParam = None,
    to: One = None, model: Values = None, provider: Values = None, app: Values = None,
    api_key_id: Values = None, status: Values = None,
) -> Response:
    p.refuse_unknown(request.query_params.keys(), USAGE_PARAMS)
    chosen = p.Bucket(p.choice(bucket, "bucket", [b.value for b in p.Bucket], "day"))
    groups = p.choices(group_by, "group_by", p.USAGE_GROUPS)
    filters = UsageFilter(
        models=p.split_values(model, "model"), providers=p.split_values(provider, "provider"),
        apps=p.split_values(app, "app", commas=False), api_key_ids=p.uuids(api_key_id, "api_key_id"),
        statuses=p.choices(status, "status", p.STATUS_CLASSES),
    )
    now, since = (views.utc(v) for v in conn.execute(views.NOW_AND_HOURLY_SINCE).one())
    start, end = p.resolve_range(from_, to, step=step_for(chosen), default_span=p.DEFAULT_SPAN[chosen], now=now)
    report = usage_report(conn, UsageQuery(chosen, groups, start, end, filters), since=since)
    return _json(usage_response(report))


@router.get("/analytics/performance", response_model=PerformanceResponse)
def performance(
    request: Request, conn: ConnDep, window: One = None, group_by: Values = None,
    model: Values = None, provider: Values = None,
) -> Response:
    p.refuse_unknown(request.query_params.keys(), PERFORMANCE_PARAMS)
    chosen = p.choice(window, "window", p.WINDOWS, "day")
    groups = p.choices(group_by, "group_by", ("model", "provider")) or ("model", "provider")
    if "model" not in groups:
        raise InvalidParameterError("group_by is model or model,provider", param="group_by")
    query = PerformanceQuery(
        window=chosen, by_provider="provider" in groups,
        models=p.split_values(model, "model"), providers=p.split_values(provider, "provider"),
    )
    return _json(performance_response(performance_report(conn, query)))


@router.get("/analytics/costs", response_model=CostResponse)
def costs(
    request: Request, conn: ConnDep, from_: FromParam = None, to: One = None, group_by: One = None,
    savings: One = None,
) -> Response:
    """savings=false leaves out the optimiser's findings (read from the daily savings rollup)."""
    p.refuse_unknown(request.query_params.keys(), COST_PARAMS)
    chosen = p.choice(group_by, "group_by", p.COST_GROUPS, "day")
    with_savings = p.choice(savings, "savings", ("true", "false"), "true") == "true"
    now = views.now(conn)
    start, end = p.cost_range(from_, to, now=now)
    report = cost_report(conn, CostQuery(chosen, start.date(), end.date()), now=now, include_savings=with_savings,
                         savings_cache=_savings_cache(request))
    return _json(cost_response(report))


__all__ = ["router"]
