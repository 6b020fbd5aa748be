"""GET analytics/performance: per model (x provider) figures of a window, with their trend.

The window (hour, day, week) is mv_model_performance's last_<window> rows: the hour, day
or week ending at the view's last refresh. Trends compare it with prev_<window>, the period
of the same length just before, which the view holds too (percentiles cannot be rebuilt
from additive rollups, so the previous periods are computed beside the current ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from minerva_core.analytics import views
from minerva_core.analytics.results import PerformanceFigures, PerformanceReport, PerformanceRow
from minerva_core.analytics.trend import trends
from minerva_core.errors import InvalidParameterError

_FIGURES = (
    "requests, errors, cancelled, fallbacks, streamed, prompt_tokens, completion_tokens, "
    "reasoning_tokens, cost_usd, cost_estimated_usd, spend_usd, cost_unknown, latency_count, "
    "p50_latency_ms, p95_latency_ms, p99_latency_ms, ttft_count, p50_ttft_ms, p95_ttft_ms, "
    "p99_ttft_ms, timed_completion_tokens, generation_ms"
)


@dataclass(frozen=True, slots=True)
class PerformanceQuery:
    window: str  # hour | day | week
    by_provider: bool = True  # False: one row per model over all its providers
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()


def performance_sql(query: PerformanceQuery) -> tuple[str, dict[str, Any]]:
    if query.providers and not query.by_provider:
        raise InvalidParameterError(
            "provider filters need group_by=model,provider (group_by=model rolls providers together)",
            param="provider",
        )
    params: dict[str, Any] = {"current": f"last_{query.window}", "previous": f"prev_{query.window}",
                              "all": views.ALL_PROVIDERS}
    where = ["window_name IN (:current, :previous)",
             "provider_name <> :all" if query.by_provider else "provider_name = :all"]
    if query.models:
        params["models"] = list(query.models)
        where.append("model_used = ANY(CAST(:models AS text[]))")
    if query.providers:
        params["providers"] = list(query.providers)
        where.append("provider_name = ANY(CAST(:providers AS text[]))")
    sql = (
        f"SELECT window_name, window_start, window_end, model_used, provider_name, {_FIGURES}\n"
        f"  FROM {views.MODEL_PERFORMANCE}\n WHERE {' AND '.join(where)}\n"
        f" ORDER BY model_used, provider_name, window_name"
    )
    return sql, params


LENGTHS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}


def _refreshed_until(conn: Connection) -> datetime | None:
    """The instant every window ends at (the view's last refresh), from any row it holds."""
    rows = views.fetch(conn, f"SELECT window_name, window_end FROM {views.MODEL_PERFORMANCE} LIMIT 1")
    for row in rows:
        kind, _, length = row["window_name"].partition("_")
        return views.utc(row["window_end"] + (LENGTHS[length] if kind == "prev" else timedelta(0)))
    return None


def performance_report(conn: Connection, query: PerformanceQuery) -> PerformanceReport:
    sql, params = performance_sql(query)
    current_name, previous_name = params["current"], params["previous"]
    pairs: dict[tuple[str, str], dict[str, PerformanceFigures]] = {}
    for row in views.fetch(conn, sql, params):
        pairs.setdefault((row["model_used"], row["provider_name"]), {})[row["window_name"]] = (
            PerformanceFigures.from_row(row)
        )
    rows = []
    for (model, provider), by_window in pairs.items():
        current, previous = by_window.get(current_name), by_window.get(previous_name)
        rows.append(PerformanceRow(
            model=views.text_or_none(model),
            provider=None if provider == views.ALL_PROVIDERS else views.text_or_none(provider),
            current=current, previous=previous, trend=trends(current, previous),
        ))
    end = _refreshed_until(conn)
    length = LENGTHS[query.window]
    return PerformanceReport(
        window=query.window, group_by=("model", "provider") if query.by_provider else ("model",),
        window_start=end and end - length, window_end=end,
        previous_start=end and end - 2 * length, previous_end=end and end - length,
        rows=rows, refreshed_at=views.refreshed_at(conn, views.MODEL_PERFORMANCE),
    )
