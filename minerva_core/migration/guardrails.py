"""Guardrails: the limits beyond which a migrating feature is rolled back. Pure.

    {"window_minutes": 60,          # figures over the last hour (not before the experiment began)
     "min_samples": 50,             # treatment requests needed before any limit is judged
     "error_rate":           {"max": "0.05", "max_ratio": "2"},
     "p95_latency_ms":       {"max": "8000", "max_ratio": "1.5"},
     "cost_per_request_usd": {"max": "0.02", "max_ratio": "1.25"}}

``max`` is an absolute ceiling on the treatment's value; ``max_ratio`` a ceiling on
treatment / control, judged only when the control arm has ``min_samples`` requests too.
For the error rate the control's rate is floored at 1 / (its requests), the resolution of
the sample, so a control without errors does not make any treatment error a breach; a
latency or cost ratio against a control value of 0 is skipped. Values are observed
figures over the window, not tested for significance: a guardrail is a safety net.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from minerva_core.errors import InvalidParameterError
from minerva_core.migration.arms import ArmFigures

METRICS = ("error_rate", "p95_latency_ms", "cost_per_request_usd")
DEFAULT_WINDOW_MINUTES = 60
DEFAULT_MIN_SAMPLES = 50


@dataclass(frozen=True)
class Limit:
    max: Decimal | None = None
    max_ratio: Decimal | None = None


@dataclass(frozen=True)
class Guardrails:
    window_minutes: int = DEFAULT_WINDOW_MINUTES
    min_samples: int = DEFAULT_MIN_SAMPLES
    limits: dict[str, Limit] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Guardrails:
        raw = dict(raw or {})
        unknown = set(raw) - {"window_minutes", "min_samples", *METRICS}
        if unknown:
            raise _bad(f"unknown guardrail key(s): {', '.join(sorted(unknown))}; known: "
                       f"window_minutes, min_samples, {', '.join(METRICS)}")
        window = _int(raw.get("window_minutes", DEFAULT_WINDOW_MINUTES), "window_minutes", 1, 7 * 24 * 60)
        samples = _int(raw.get("min_samples", DEFAULT_MIN_SAMPLES), "min_samples", 1, 10_000_000)
        limits = {}
        for metric in METRICS:
            if raw.get(metric) is None:
                continue
            spec = raw[metric]
            if not isinstance(spec, dict) or not spec or set(spec) - {"max", "max_ratio"}:
                raise _bad(f"{metric} must be an object with max and/or max_ratio")
            limits[metric] = Limit(_dec(spec.get("max"), f"{metric}.max"), _dec(spec.get("max_ratio"), f"{metric}.max_ratio"))
        if "error_rate" in limits and (limits["error_rate"].max or 0) > 1:
            raise _bad("error_rate.max is a fraction between 0 and 1")
        return cls(window, samples, limits)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"window_minutes": self.window_minutes, "min_samples": self.min_samples}
        for metric, limit in self.limits.items():
            out[metric] = {k: format(v, "f") for k, v in (("max", limit.max), ("max_ratio", limit.max_ratio)) if v is not None}
        return out


def _bad(message: str) -> InvalidParameterError:
    return InvalidParameterError(message, code="invalid_guardrails", param="guardrails")


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"{name} must be an integer between {low} and {high}")
    return value


def _dec(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, (bool, float)):
        raise _bad(f"{name} must be a decimal string such as \"0.05\" (a JSON float is not exact)")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _bad(f"{name} must be a decimal string such as \"0.05\"") from None
    if not number.is_finite() or number <= 0:
        raise _bad(f"{name} must be a positive number")
    return number


@dataclass(frozen=True)
class Breach:
    metric: str
    kind: str  # "max" | "max_ratio"
    observed: Decimal
    threshold: Decimal
    control: Decimal | None = None

    def describe(self) -> str:
        if self.kind == "max":
            return f"{self.metric} {self.observed:f} > max {self.threshold:f}"
        return (f"{self.metric} {self.observed:f} > {self.threshold:f} x control {self.control:f}")


@dataclass(frozen=True)
class GuardrailCheck:
    evaluated: bool  # False: too few treatment samples to judge
    breaches: tuple[Breach, ...]
    notes: tuple[str, ...]

    @property
    def breached(self) -> bool:
        return bool(self.breaches)

    def describe(self) -> str:
        return "; ".join(b.describe() for b in self.breaches) or ("within limits" if self.evaluated else "; ".join(self.notes))


def _value(metric: str, figures: ArmFigures) -> Decimal | None:
    if metric == "error_rate":
        return figures.error_rate
    if metric == "p95_latency_ms":
        return figures.p95_latency_ms
    return figures.cost_mean_usd


def check(guardrails: Guardrails, control: ArmFigures, treatment: ArmFigures) -> GuardrailCheck:
    if treatment.requests < guardrails.min_samples:
        return GuardrailCheck(False, (), (f"treatment has {treatment.requests} request(s) in the window; "
                                          f"guardrails judge from {guardrails.min_samples}",))
    breaches, notes = [], []
    control_ok = control.requests >= guardrails.min_samples
    for metric, limit in guardrails.limits.items():
        observed = _value(metric, treatment)
        if observed is None:
            notes.append(f"{metric}: no treatment value in the window")
            continue
        if limit.max is not None and observed > limit.max:
            breaches.append(Breach(metric, "max", observed, limit.max))
        if limit.max_ratio is None:
            continue
        base = _value(metric, control) if control_ok else None
        if base is None:
            notes.append(f"{metric}: ratio not judged, control has {control.requests} request(s)")
            continue
        if metric == "error_rate":
            base = max(base, Decimal(1) / Decimal(control.requests))
        if base <= 0:
            notes.append(f"{metric}: ratio not judged, control value is 0")
            continue
        if observed > limit.max_ratio * base:
            breaches.append(Breach(metric, "max_ratio", observed, limit.max_ratio, base))
    return GuardrailCheck(True, tuple(breaches), tuple(notes))


__all__ = ["METRICS", "Breach", "GuardrailCheck", "Guardrails", "Limit", "check"]
