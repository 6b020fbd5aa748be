"""The analytics API's answers (analytics/usage, analytics/performance, analytics/costs).

Money is a decimal string (USD, exact, never a float): cost_usd is the upstream charge known
so far, cost_estimated_usd Minerva's own estimate, spend_usd their blend that budgets count
(the charge, or the estimate until the charge is known), cost_unknown the requests still
without an upstream charge. Rates are fractions 0..1; latencies milliseconds. Instants are
UTC. NULL group values mean "unknown" (no key, no app, model or provider recorded).

The pydantic models are the documented contract (OpenAPI); the *_response functions build the
same shapes as plain dicts, serialised once by orjson (``json_bytes``): thousands of rows per
answer cost a few milliseconds instead of a model per row. The tests validate every answer
against the models.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from minerva_core.analytics.results import (
    CostReport,
    CostRow,
    PerformanceFigures,
    PerformanceReport,
    UsageMeasures,
    UsageReport,
)


def json_bytes(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_UTC_Z)


def usd(value: Decimal | None) -> str | None:
    """A plain decimal string ('0.0000012', never '1.2E-6')."""
    return None if value is None else format(value, "f")


class UsageFigures(BaseModel):
    requests: int
    errors: int = Field(description="requests failed: status error, timeout or rate_limited")
    cancelled: int
    timeouts: int
    rate_limited: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    total_tokens: int = Field(description="prompt + completion tokens")
    cost_usd: str
    cost_estimated_usd: str
    spend_usd: str
    cost_unknown: int
    fallbacks: int
    streamed: int
    avg_latency_ms: float | None
    avg_ttft_ms: float | None


class UsageRowView(UsageFigures):
    """One bucket of one group. The group values are fields of the row, named as grouped:
    api_key_id (+ key_name), app, model, provider, status (ok | error | cancelled)."""

    model_config = ConfigDict(extra="allow")
    bucket_start: datetime


class UsageResponse(BaseModel):
    bucket: str
    group_by: list[str]
    from_: datetime = Field(alias="from", description="start of the range answered (aligned)")
    to: datetime = Field(description="end (exclusive) of the range answered (aligned)")
    source: str = Field(description="the view the answer comes from")
    refreshed_at: datetime | None = Field(description="last refresh of that view by the refresh flow")
    hourly_since: datetime = Field(description="bucket=hour answers from this instant on")
    data: list[UsageRowView]
    totals: UsageFigures


def _usage_figures(m: UsageMeasures) -> dict[str, Any]:
    return {
        "requests": m.requests, "errors": m.errors, "cancelled": m.cancelled, "timeouts": m.timeouts,
        "rate_limited": m.rate_limited, "prompt_tokens": m.prompt_tokens, "completion_tokens": m.completion_tokens,
        "reasoning_tokens": m.reasoning_tokens, "cached_tokens": m.cached_tokens,
        "cache_write_tokens": m.cache_write_tokens, "total_tokens": m.total_tokens, "cost_usd": usd(m.cost_usd),
        "cost_estimated_usd": usd(m.cost_estimated_usd), "spend_usd": usd(m.spend_usd),
        "cost_unknown": m.cost_unknown, "fallbacks": m.fallbacks, "streamed": m.streamed,
        "avg_latency_ms": m.avg_latency_ms, "avg_ttft_ms": m.avg_ttft_ms,
    }


def usage_response(report: UsageReport) -> dict[str, Any]:
    """A UsageResponse, as a plain dict."""
    rows = [
        {"bucket_start": r.bucket_start, **{k: _plain(v) for k, v in r.group.items()}, **_usage_figures(r.measures)}
        for r in report.rows
    ]
    return {
        "bucket": report.bucket, "group_by": list(report.group_by), "from": report.start, "to": report.end,
        "source": report.source, "refreshed_at": report.refreshed_at, "hourly_since": report.hourly_since,
        "data": rows, "totals": _usage_figures(report.totals),
    }


class TrendView(BaseModel):
    current: float | None
    previous: float | None
    delta: float | None = Field(description="current - previous")
    pct_change: float | None = Field(description="100 * delta / previous; null when previous is 0 or unknown")


class PerformanceFiguresView(BaseModel):
    requests: int
    errors: int
    cancelled: int
    error_rate: float | None
    uptime: float | None = Field(description="1 - error_rate")
    fallback_rate: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p99_latency_ms: float | None
    p50_ttft_ms: float | None
    p95_ttft_ms: float | None
    p99_ttft_ms: float | None
    throughput_tps: float | None = Field(description="completion tokens per second of generation")
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_usd: str
    cost_estimated_usd: str
    spend_usd: str
    cost_unknown: int


class PerformanceRowView(BaseModel):
    model: str | None
    provider: str | None = Field(description="null with group_by=model (all providers) or when unknown")
    current: PerformanceFiguresView | None = Field(description="null: no request in the window")
    previous: PerformanceFiguresView | None
    trend: dict[str, TrendView]


class PerformanceResponse(BaseModel):
    window: str
    group_by: list[str]
    window_start: datetime | None
    window_end: datetime | None
    previous_start: datetime | None
    previous_end: datetime | None
    refreshed_at: datetime | None
    data: list[PerformanceRowView]


def _figures(f: PerformanceFigures | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {
        "requests": f.requests, "errors": f.errors, "cancelled": f.cancelled, "error_rate": f.error_rate,
        "uptime": f.uptime, "fallback_rate": f.fallback_rate, "p50_latency_ms": f.p50_latency_ms,
        "p95_latency_ms": f.p95_latency_ms, "p99_latency_ms": f.p99_latency_ms, "p50_ttft_ms": f.p50_ttft_ms,
        "p95_ttft_ms": f.p95_ttft_ms, "p99_ttft_ms": f.p99_ttft_ms, "throughput_tps": f.throughput_tps,
        "prompt_tokens": f.prompt_tokens, "completion_tokens": f.completion_tokens,
        "reasoning_tokens": f.reasoning_tokens, "cost_usd": usd(f.cost_usd),
        "cost_estimated_usd": usd(f.cost_estimated_usd), "spend_usd": usd(f.spend_usd),
        "cost_unknown": f.cost_unknown,
    }


def performance_response(report: PerformanceReport) -> dict[str, Any]:
    """A PerformanceResponse, as a plain dict."""
    return {
        "window": report.window, "group_by": list(report.group_by), "window_start": report.window_start,
        "window_end": report.window_end, "previous_start": report.previous_start,
        "previous_end": report.previous_end, "refreshed_at": report.refreshed_at,
        "data": [
            {"model": r.model, "provider": r.provider, "current": _figures(r.current), "previous": _figures(r.previous),
             "trend": {k: dataclasses.asdict(t) for k, t in r.trend.items()}}
            for r in report.rows
        ],
    }


class CostRowView(BaseModel):
    """One group (fields day | model | provider | api_key_id + key_name, as grouped)."""

    model_config = ConfigDict(extra="allow")
    requests: int
    cost_usd: str
    cost_estimated_usd: str
    spend_usd: str
    cost_unknown: int
    reconciled_spend_usd: str | None = Field(description="null when grouped by key")
    unreconciled_spend_usd: str | None
    billed_usd: str | None


class BudgetView(BaseModel):
    api_key_id: uuid.UUID
    name: str
    period: str
    period_start: datetime
    period_end: datetime
    budget_usd: str
    spent_usd: str
    remaining_usd: str
    fraction_used: float | None


class ReconciliationView(BaseModel):
    reconciled_spend_usd: str = Field(description="spend on days a succeeded reconciliation run covers")
    unreconciled_spend_usd: str
    reconciled_days: int
    unreconciled_days: int
    billed_usd: str
    matched_usd: str
    mismatched_usd: str = Field(description="sum of |bill - ledger| over items not matched")
    delta_usd: str = Field(description="bill - ledger, net")
    accuracy: float | None = Field(description="matched_usd / billed_usd")
    discrepancies: int


class SavingsView(BaseModel):
    available: bool
    items: list[Any]
    report: Any = None
    note: str | None


class CostResponse(BaseModel):
    group_by: str
    from_: date = Field(alias="from")
    to: date = Field(description="exclusive")
    refreshed_at: datetime | None
    data: list[CostRowView]
    totals: CostRowView
    budgets: list[BudgetView] = Field(description="active keys with a budget: spend in their current period")
    reconciliation: ReconciliationView
    savings: SavingsView


def _cost_row(r: CostRow) -> dict[str, Any]:
    return {
        **{k: _plain(v) for k, v in r.group.items()}, "requests": r.requests, "cost_usd": usd(r.cost_usd),
        "cost_estimated_usd": usd(r.cost_estimated_usd), "spend_usd": usd(r.spend_usd),
        "cost_unknown": r.cost_unknown, "reconciled_spend_usd": usd(r.reconciled_spend_usd),
        "unreconciled_spend_usd": usd(r.unreconciled_spend_usd), "billed_usd": usd(r.billed_usd),
    }


def cost_response(report: CostReport) -> dict[str, Any]:
    """A CostResponse, as a plain dict."""
    rec = report.reconciliation
    return {
        "group_by": report.group_by, "from": report.start, "to": report.end, "refreshed_at": report.refreshed_at,
        "data": [_cost_row(r) for r in report.rows], "totals": _cost_row(report.totals),
        "budgets": [
            {"api_key_id": b.api_key_id, "name": b.name, "period": b.period, "period_start": b.period_start,
             "period_end": b.period_end, "budget_usd": usd(b.budget_usd), "spent_usd": usd(b.spent_usd),
             "remaining_usd": usd(b.remaining_usd), "fraction_used": b.fraction_used}
            for b in report.budgets
        ],
        "reconciliation": {
            "reconciled_spend_usd": usd(rec.reconciled_spend_usd),
            "unreconciled_spend_usd": usd(rec.unreconciled_spend_usd), "reconciled_days": rec.reconciled_days,
            "unreconciled_days": rec.unreconciled_days, "billed_usd": usd(rec.billed_usd),
            "matched_usd": usd(rec.matched_usd), "mismatched_usd": usd(rec.mismatched_usd),
            "delta_usd": usd(rec.delta_usd), "accuracy": rec.accuracy, "discrepancies": rec.discrepancies,
        },
        "savings": {
            "available": report.savings.available, "items": [_plain(i) for i in report.savings.items],
            "report": _plain(report.savings.report), "note": report.savings.note,
        },
    }


def _plain(value: Any) -> Any:
    """JSON-safe form of whatever the optimiser (or a group value) holds: dataclasses and
    pydantic models as objects, Decimal as a decimal string, instants ISO, enums by value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return usd(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return str(value)
