"""Bodies of the migration admin API (routes/migration.py). Money and rates are decimal
strings; statistics are JSON numbers (null when not finite or not computable). Unknown
keys are refused, so a typo is a 400, not a silent no-op."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from minerva_core.migration.arms import ArmFigures
from minerva_core.migration.audit import AuditEntry
from minerva_core.migration.bucketing import Assignment
from minerva_core.migration.evaluation import ExperimentReport, GuardrailOutcome
from minerva_core.migration.registry import Feature
from minerva_core.migration.stats import Summary, TestResult

Slug = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeatureCreate(_Body):
    name: Slug
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    app: Text | None = None
    control_provider: Slug = Field(description="the direct provider serving the feature today, e.g. openai")
    control_model: Text = Field(description="its model there, e.g. gpt-4o")
    treatment_provider: Slug = "openrouter"
    treatment_model: Text = Field(description="an OpenRouter model id or a strategy alias, e.g. openai/gpt-4o")
    guardrails: dict[str, Any] | None = Field(default=None, description="see minerva_core.migration.guardrails")
    experiment: dict[str, Any] | None = Field(default=None, description="alpha, min_samples_per_arm, primary_metric")


class FeatureUpdate(_Body):
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    app: Text | None = None
    control_provider: Slug | None = None
    control_model: Text | None = None
    treatment_provider: Slug | None = None
    treatment_model: Text | None = None
    guardrails: dict[str, Any] | None = None
    experiment: dict[str, Any] | None = None
    reason: Reason | None = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k != "reason"}


class RolloutRequest(_Body):
    percent: Decimal = Field(ge=0, le=100, description="treatment share, 0-100, at most two decimals")
    reason: Reason | None = None


class RollbackRequest(_Body):
    reason: Reason


class ReasonRequest(_Body):
    reason: Reason | None = None


class FeatureView(BaseModel):
    name: str
    description: str | None
    app: str | None
    control_provider: str
    control_model: str
    treatment_provider: str
    treatment_model: str
    status: str
    rollout_percent: str
    guardrails: dict[str, Any]
    experiment: dict[str, Any]
    experiment_started_at: datetime | None
    status_reason: str | None
    status_changed_by: str | None
    status_changed_at: datetime
    created_by: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, f: Feature) -> FeatureView:
        data = {k: getattr(f, k) for k in cls.model_fields if k != "rollout_percent"}
        return cls(**data, rollout_percent=format(f.rollout_percent, "f"))


class FeatureList(BaseModel):
    data: list[FeatureView]


class AssignmentView(BaseModel):
    feature: str
    user: str
    bucket: int
    rollout_percent: str
    arm: Literal["control", "treatment"]
    provider: str
    model: str
    status: str
    reason: str

    @classmethod
    def of(cls, a: Assignment, user: str, status: str) -> AssignmentView:
        return cls(feature=a.feature, user=user, bucket=a.bucket, rollout_percent=format(a.rollout_percent, "f"),
                   arm=a.arm, provider=a.provider, model=a.model, status=status, reason=a.reason)


def _num(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _summary(s: Summary) -> dict[str, Any]:
    sd = math.sqrt(s.variance) if s.n > 1 and math.isfinite(s.variance) else None
    return {"n": s.n, "mean": _num(s.mean) if s.n else None, "stddev": _num(sd)}


def arm_view(a: ArmFigures) -> dict[str, Any]:
    return {
        "requests": a.requests, "errors": a.errors, "error_rate": _dec(a.error_rate),
        "latency_ms": {**_summary(a.latency), "p95": _dec(a.p95_latency_ms)},
        "ttft_ms": _summary(a.ttft),
        "cost_usd": {**_summary(a.cost), "mean": _dec(a.cost_mean_usd), "total": _dec(a.cost_total_usd)},
        "quality": _summary(a.quality),
    }


def stat_test_view(t: TestResult | None, alpha: float) -> dict[str, Any] | None:
    if t is None:
        return None
    return {"test": t.test, "statistic": _num(t.statistic), "df": _num(t.df), "p_value": _num(t.p_value),
            "significant": t.significant(alpha), "control": _num(t.control_value), "treatment": _num(t.treatment_value),
            "difference": _num(t.difference), "relative_difference": _num(t.relative_difference),
            "effect_size": _num(t.effect_size), "effect_size_kind": t.effect_size_kind}


class ExperimentView(BaseModel):
    feature: FeatureView
    since: datetime
    until: datetime
    config: dict[str, Any]
    arms: dict[str, dict[str, Any]]
    tests: dict[str, dict[str, Any] | None]
    guardrails: dict[str, Any]
    verdict: dict[str, Any]

    @classmethod
    def of(cls, r: ExperimentReport) -> ExperimentView:
        config = r.feature.experiment_config
        g = r.guardrails
        return cls(
            feature=FeatureView.of(r.feature), since=r.since, until=r.until, config=config.to_json(),
            arms={arm: arm_view(fig) for arm, fig in r.arms.items()},
            tests={m: stat_test_view(t, float(config.alpha)) for m, t in r.comparison.tests.items()},
            guardrails={"config": r.feature.guardrail_config.to_json(), "evaluated": g.evaluated,
                        "breached": g.breached, "breaches": [b.describe() for b in g.breaches], "notes": list(g.notes)},
            verdict={"status": r.comparison.verdict.status, "winner": r.comparison.verdict.winner,
                     "reason": r.comparison.verdict.reason},
        )


class FeedbackRequest(_Body):
    request_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    score: Annotated[int, Field(ge=1, le=5)] | Literal["up", "down"] = Field(
        description="1-5, or 'up' / 'down' (thumbs)")
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class FeedbackView(BaseModel):
    request_id: str
    quality: str = Field(description="0..1: (score - 1) / 4, or 1 for up and 0 for down")
    feature: str | None
    arm: str | None


class AuditView(BaseModel):
    id: int
    at: datetime
    actor: str
    entity_type: str
    entity: str
    action: str
    before: dict | None
    after: dict | None
    reason: str | None

    @classmethod
    def of(cls, e: AuditEntry) -> AuditView:
        return cls(**e.__dict__)


class AuditPage(BaseModel):
    data: list[AuditView]
    next_before_id: int | None = Field(description="pass as before_id for the next (older) page; null at the end")


class LegacyMigrateRequest(_Body):
    export: dict[str, Any] | None = Field(
        default=None, description="a legacy export to stage first; omitted: migrate what the legacy tables hold")


class GuardrailOutcomeView(BaseModel):
    feature: str
    status: str
    evaluated: bool
    rolled_back: bool
    breaches: list[str]
    notes: list[str]
    error: str | None

    @classmethod
    def of(cls, o: GuardrailOutcome) -> GuardrailOutcomeView:
        return cls(feature=o.feature, status=o.status, evaluated=o.evaluated, rolled_back=o.rolled_back,
                   breaches=list(o.breaches), notes=list(o.notes), error=o.error)


class GuardrailRun(BaseModel):
    evaluated_at: datetime
    outcomes: list[GuardrailOutcomeView]
