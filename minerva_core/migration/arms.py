"""One arm's figures over a window (what the experiment and the guardrails read). Pure.

Definitions, the same for the SQL that fills these and for tests on literal rows:
  requests   ledger rows of the arm's exposures, cancelled ones excluded (a client hanging
             up says nothing about the provider)
  errors     status error, timeout or rate_limited
  latency, ttft, p95 latency   over successful (status ok) rows
  cost       COALESCE(cost_usd, cost_estimated_usd) over requests with a known cost: the
             upstream's charge when there is one (OpenRouter), else Minerva's estimate
             (direct providers report no charge)
  quality    migration_feedback.quality (0..1) of the arm's requests that have feedback
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from minerva_core.migration.stats import Summary, percentile, summarize

ERROR_STATUSES = ("error", "timeout", "rate_limited")


@dataclass(frozen=True)
class ArmFigures:
    arm: str
    requests: int
    errors: int
    latency: Summary
    ttft: Summary
    p95_latency_ms: Decimal | None
    cost: Summary
    cost_mean_usd: Decimal | None  # exact, for display and the cost guardrail
    cost_total_usd: Decimal
    quality: Summary

    @property
    def error_rate(self) -> Decimal | None:
        return Decimal(self.errors) / Decimal(self.requests) if self.requests else None


@dataclass(frozen=True)
class Observation:
    """One request of an arm, for building figures from literal data."""

    status: str
    latency_ms: int | None = None
    ttft_ms: int | None = None
    cost_usd: Decimal | None = None
    quality: Decimal | None = None


def figures_from(arm: str, observations: Iterable[Observation]) -> ArmFigures:
    rows = [o for o in observations if o.status != "cancelled"]
    ok = [o for o in rows if o.status == "ok"]
    latencies = [o.latency_ms for o in ok if o.latency_ms is not None]
    costs = [o.cost_usd for o in rows if o.cost_usd is not None]
    total = sum(costs, Decimal(0))
    return ArmFigures(
        arm=arm,
        requests=len(rows),
        errors=sum(1 for o in rows if o.status in ERROR_STATUSES),
        latency=summarize(latencies),
        ttft=summarize(o.ttft_ms for o in ok if o.ttft_ms is not None),
        p95_latency_ms=_p95(latencies),
        cost=summarize(costs),
        cost_mean_usd=total / len(costs) if costs else None,
        cost_total_usd=total,
        quality=summarize(o.quality for o in rows if o.quality is not None),
    )


def _p95(values: Sequence[int]) -> Decimal | None:
    return Decimal(repr(percentile(values, 0.95))) if values else None


def empty(arm: str) -> ArmFigures:
    return figures_from(arm, ())


__all__ = ["ERROR_STATUSES", "ArmFigures", "Observation", "empty", "figures_from"]
