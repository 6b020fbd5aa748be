"""The A/B comparison of a migrating feature's arms, and the verdict. Pure.

Tests (minerva_core.migration.stats, standard library only):
  latency_ms, ttft_ms, cost_usd, quality   Welch's t-test of the means
  error_rate                               two-proportion z-test

Verdict, in this order:
  1. insufficient_data   an arm has fewer than min_samples_per_arm requests (or, with quality
                         as the primary metric, fewer feedback scores)
  2. guardrail_breached  a guardrail is breached: no winner, whatever the tests say
  3. inconclusive        the primary metric's p-value is not below alpha
  4. mixed               treatment is significantly better on the primary metric but
                         significantly worse on another: no winner
  5. significant         winner = the arm better on the primary metric (lower latency,
                         ttft, cost, error rate; higher quality)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from minerva_core.errors import InvalidParameterError
from minerva_core.migration.arms import ArmFigures
from minerva_core.migration.guardrails import GuardrailCheck
from minerva_core.migration.stats import TestResult, two_proportion_z_test, welch_t_test

METRICS = ("latency_ms", "ttft_ms", "cost_usd", "error_rate", "quality")
HIGHER_IS_BETTER = frozenset({"quality"})


@dataclass(frozen=True)
class ExperimentConfig:
    alpha: Decimal = Decimal("0.05")
    min_samples_per_arm: int = 100
    primary_metric: str = "latency_ms"

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ExperimentConfig:
        raw = dict(raw or {})
        unknown = set(raw) - {"alpha", "min_samples_per_arm", "primary_metric"}
        if unknown:
            raise _bad(f"unknown experiment key(s): {', '.join(sorted(unknown))}")
        alpha_raw = raw.get("alpha", "0.05")
        if isinstance(alpha_raw, bool):
            raise _bad("alpha must be a number between 0 and 0.5")
        try:
            alpha = Decimal(str(alpha_raw))
        except InvalidOperation:
            raise _bad("alpha must be a number between 0 and 0.5") from None
        if not alpha.is_finite() or not Decimal(0) < alpha <= Decimal("0.5"):
            raise _bad("alpha must be a number between 0 and 0.5")
        samples = raw.get("min_samples_per_arm", 100)
        if isinstance(samples, bool) or not isinstance(samples, int) or not 2 <= samples <= 10_000_000:
            raise _bad("min_samples_per_arm must be an integer of at least 2")
        primary = raw.get("primary_metric", "latency_ms")
        if primary not in METRICS:
            raise _bad(f"primary_metric must be one of {', '.join(METRICS)}")
        return cls(alpha, samples, primary)

    def to_json(self) -> dict[str, Any]:
        return {"alpha": format(self.alpha, "f"), "min_samples_per_arm": self.min_samples_per_arm,
                "primary_metric": self.primary_metric}


def _bad(message: str) -> InvalidParameterError:
    return InvalidParameterError(message, code="invalid_experiment", param="experiment")


@dataclass(frozen=True)
class Verdict:
    status: str  # insufficient_data | guardrail_breached | inconclusive | mixed | significant
    winner: str | None  # "control" | "treatment" | None
    reason: str


@dataclass(frozen=True)
class Comparison:
    tests: dict[str, TestResult | None]  # None: too few values in an arm to test
    verdict: Verdict


def run_tests(control: ArmFigures, treatment: ArmFigures) -> dict[str, TestResult | None]:
    tests: dict[str, TestResult | None] = {}
    for metric, attr in (("latency_ms", "latency"), ("ttft_ms", "ttft"), ("cost_usd", "cost"), ("quality", "quality")):
        c, t = getattr(control, attr), getattr(treatment, attr)
        tests[metric] = welch_t_test(c, t) if c.n >= 2 and t.n >= 2 else None
    tests["error_rate"] = (
        two_proportion_z_test(control.errors, control.requests, treatment.errors, treatment.requests)
        if control.requests and treatment.requests else None
    )
    return tests


def _treatment_better(metric: str, result: TestResult) -> bool:
    return result.difference > 0 if metric in HIGHER_IS_BETTER else result.difference < 0


def compare(
    control: ArmFigures, treatment: ArmFigures, config: ExperimentConfig, guardrails: GuardrailCheck | None = None,
) -> Comparison:
    tests = run_tests(control, treatment)
    alpha = float(config.alpha)
    primary = config.primary_metric
    need = config.min_samples_per_arm
    counts = {"control": control.requests, "treatment": treatment.requests}
    if primary == "quality":
        counts = {"control": control.quality.n, "treatment": treatment.quality.n}
    short = [f"{arm} has {n}" for arm, n in counts.items() if n < need]
    if short:
        what = "feedback scores" if primary == "quality" else "requests"
        return Comparison(tests, Verdict("insufficient_data", None,
                                         f"{need} {what} per arm are required; " + ", ".join(short)))
    if guardrails is not None and guardrails.breached:
        return Comparison(tests, Verdict("guardrail_breached", None, "guardrail breached: " + guardrails.describe()))
    result = tests[primary]
    if result is None or not result.significant(alpha):
        p = "not computable" if result is None else f"p = {result.p_value:.4g}"
        return Comparison(tests, Verdict("inconclusive", None, f"{primary}: {p}, not below alpha {config.alpha}"))
    if not _treatment_better(primary, result):
        return Comparison(tests, Verdict("significant", "control",
                                         f"control is better on {primary} (p = {result.p_value:.4g})"))
    worse = [m for m, r in tests.items()
             if m != primary and r is not None and r.significant(alpha) and not _treatment_better(m, r)]
    if worse:
        return Comparison(tests, Verdict("mixed", None,
                                         f"treatment is better on {primary} (p = {result.p_value:.4g}) but "
                                         f"significantly worse on {', '.join(worse)}"))
    return Comparison(tests, Verdict("significant", "treatment",
                                     f"treatment is better on {primary} (p = {result.p_value:.4g}) and not "
                                     "significantly worse on any other metric"))


__all__ = ["HIGHER_IS_BETTER", "METRICS", "Comparison", "ExperimentConfig", "Verdict", "compare", "run_tests"]
