"""What the analytics queries answer: plain frozen dataclasses (no pydantic), money as Decimal.

Rates are fractions 0..1; latencies are milliseconds (floats: percentiles interpolate).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _ratio(part: int | float, whole: int | float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class UsageMeasures:
    """Additive usage figures of one group (or the totals): sums and counts only."""

    requests: int = 0
    errors: int = 0
    cancelled: int = 0
    timeouts: int = 0
    rate_limited: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    cost_estimated_usd: Decimal = Decimal(0)
    spend_usd: Decimal = Decimal(0)
    cost_unknown: int = 0
    fallbacks: int = 0
    streamed: int = 0
    latency_ms_sum: int = 0
    latency_count: int = 0
    ttft_ms_sum: int = 0
    ttft_count: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def avg_latency_ms(self) -> float | None:
        return _ratio(self.latency_ms_sum, self.latency_count)

    @property
    def avg_ttft_ms(self) -> float | None:
        return _ratio(self.ttft_ms_sum, self.ttft_count)


USAGE_FIELDS = tuple(f.name for f in fields(UsageMeasures))


@dataclass(frozen=True, slots=True)
class UsageRow:
    bucket_start: datetime
    group: dict[str, str | None]  # group_by name -> value (None: unknown / no key)
    measures: UsageMeasures


@dataclass(frozen=True, slots=True)
class UsageReport:
    bucket: str
    group_by: tuple[str, ...]
    start: datetime
    end: datetime
    rows: list[UsageRow]
    totals: UsageMeasures
    source: str
    refreshed_at: datetime | None
    hourly_since: datetime


@dataclass(frozen=True, slots=True)
class PerformanceFigures:
    """One window's figures of one model (x provider), as mv_model_performance holds them."""

    requests: int
    errors: int
    cancelled: int
    fallbacks: int
    streamed: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_usd: Decimal
    cost_estimated_usd: Decimal
    spend_usd: Decimal
    cost_unknown: int
    latency_count: int
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p99_latency_ms: float | None
    ttft_count: int
    p50_ttft_ms: float | None
    p95_ttft_ms: float | None
    p99_ttft_ms: float | None
    timed_completion_tokens: int
    generation_ms: int

    @classmethod
    def from_row(cls, row: Any) -> PerformanceFigures:
        return cls(**{f.name: row[f.name] for f in fields(cls)})  # a few hundred rows at most

    @property
    def error_rate(self) -> float | None:
        return _ratio(self.errors, self.requests)

    @property
    def uptime(self) -> float | None:
        """1 - error rate: the share of requests not failed by the model (cancels count as up)."""
        rate = self.error_rate
        return None if rate is None else 1.0 - rate

    @property
    def fallback_rate(self) -> float | None:
        return _ratio(self.fallbacks, self.requests)

    @property
    def throughput_tps(self) -> float | None:
        """Completion tokens per second of generation (latency - ttft), over ok requests with both."""
        if not self.generation_ms:
            return None
        return self.timed_completion_tokens / (self.generation_ms / 1000)


@dataclass(frozen=True, slots=True)
class Trend:
    current: float | None
    previous: float | None
    delta: float | None
    pct_change: float | None


@dataclass(frozen=True, slots=True)
class PerformanceRow:
    model: str | None
    provider: str | None  # None when rolled over providers (group_by=model) or unknown
    current: PerformanceFigures | None
    previous: PerformanceFigures | None
    trend: dict[str, Trend]


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    window: str
    group_by: tuple[str, ...]
    window_start: datetime | None
    window_end: datetime | None
    previous_start: datetime | None
    previous_end: datetime | None
    rows: list[PerformanceRow]
    refreshed_at: datetime | None


@dataclass(frozen=True, slots=True)
class CostRow:
    group: dict[str, Any]  # {"day": date} | {"model": ...} | {"provider": ...} | {"api_key_id", "key_name"}
    requests: int
    cost_usd: Decimal
    cost_estimated_usd: Decimal
    spend_usd: Decimal
    cost_unknown: int
    reconciled_spend_usd: Decimal | None = None  # None: not known per key
    unreconciled_spend_usd: Decimal | None = None
    billed_usd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BudgetUse:
    api_key_id: uuid.UUID
    name: str
    period: str
    period_start: datetime
    period_end: datetime
    budget_usd: Decimal
    spent_usd: Decimal

    @property
    def remaining_usd(self) -> Decimal:
        return self.budget_usd - self.spent_usd

    @property
    def fraction_used(self) -> float | None:
        return float(self.spent_usd / self.budget_usd) if self.budget_usd else None


@dataclass(frozen=True, slots=True)
class Reconciliation:
    reconciled_spend_usd: Decimal
    unreconciled_spend_usd: Decimal
    reconciled_days: int
    unreconciled_days: int
    billed_usd: Decimal
    matched_usd: Decimal
    mismatched_usd: Decimal
    delta_usd: Decimal
    discrepancies: int

    @property
    def accuracy(self) -> float | None:
        return float(self.matched_usd / self.billed_usd) if self.billed_usd else None


@dataclass(frozen=True, slots=True)
class Savings:
    available: bool
    items: list[Any] = field(default_factory=list)
    report: Any = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CostReport:
    group_by: str
    start: date
    end: date
    rows: list[CostRow]
    totals: CostRow
    budgets: list[BudgetUse]
    reconciliation: Reconciliation
    savings: Savings
    refreshed_at: datetime | None
