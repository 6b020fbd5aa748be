"""The proxy's observed model health, from mv_model_performance (all providers of a model).

    health = load_model_health(conn)            # {model_id: {...}} ; {} before the first refresh
    ModelHealth(**health["openai/gpt-4o"])       # minerva_core.routing.model.ModelHealth

Each model's figures come from the last hour when it served at least ``min_requests`` there,
else from the last day (a model quiet for a day has no entry: its health is unknown, not
good). Figures, as ModelHealth names them:

    p50_latency_ms, p95_latency_ms   percentile_cont of latency_ms over ok requests
    ttft_ms                          median time to first token over ok requests
    error_rate                       requests in class error (error, timeout, rate_limited) / requests
    uptime                           1 - error_rate (a cancelled request is not a failure)
    throughput_tps                   completion tokens / (latency - ttft) seconds, over ok requests
                                     with both figures
    requests                         the sample size behind the figures

One indexed read of at most two rows per model: cheap enough for proxy start and every refresh.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from minerva_core.analytics import views
from minerva_core.analytics.results import PerformanceFigures

DEFAULT_MIN_REQUESTS = 20

_SQL = f"""
SELECT window_name, model_used, requests, errors, cancelled, fallbacks, streamed, prompt_tokens,
       completion_tokens, reasoning_tokens, cost_usd, cost_estimated_usd, spend_usd, cost_unknown,
       latency_count, p50_latency_ms, p95_latency_ms, p99_latency_ms, ttft_count, p50_ttft_ms,
       p95_ttft_ms, p99_ttft_ms, timed_completion_tokens, generation_ms
  FROM {views.MODEL_PERFORMANCE}
 WHERE window_name IN ('last_hour', 'last_day') AND provider_name = '{views.ALL_PROVIDERS}'
   AND model_used <> ''
"""


def health_figures(figures: PerformanceFigures) -> dict[str, Any]:
    """ModelHealth keyword arguments from one window's figures."""
    return {
        "p50_latency_ms": figures.p50_latency_ms,
        "p95_latency_ms": figures.p95_latency_ms,
        "ttft_ms": figures.p50_ttft_ms,
        "error_rate": figures.error_rate,
        "uptime": figures.uptime,
        "throughput_tps": figures.throughput_tps,
        "requests": figures.requests,
    }


def load_model_health(conn: Connection, *, min_requests: int = DEFAULT_MIN_REQUESTS) -> dict[str, dict[str, Any]]:
    """{model_id: ModelHealth kwargs}; {} when the view was never refreshed."""
    try:
        rows = conn.execute(text(_SQL)).mappings().all()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == views.OBJECT_NOT_IN_PREREQUISITE_STATE:
            conn.rollback()
            return {}
        raise
    by_model: dict[str, dict[str, PerformanceFigures]] = {}
    for row in rows:
        by_model.setdefault(row["model_used"], {})[row["window_name"]] = PerformanceFigures.from_row(row)
    health = {}
    for model, windows in by_model.items():
        hour, day = windows.get("last_hour"), windows.get("last_day")
        chosen = hour if hour is not None and hour.requests >= min_requests else day or hour
        if chosen is not None:
            health[model] = health_figures(chosen)
    return health
