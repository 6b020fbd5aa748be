"""The verdict on literal arms: a winner only when significant and the guardrails hold."""

from __future__ import annotations

from decimal import Decimal

from minerva_core.migration.arms import Observation, figures_from
from minerva_core.migration.experiments import ExperimentConfig, compare
from minerva_core.migration.guardrails import Guardrails, check

CONFIG = ExperimentConfig.from_json({"alpha": "0.05", "min_samples_per_arm": 10, "primary_metric": "latency_ms"})


def arm(name: str, latencies: list[int], *, errors: int = 0, cost: str = "0.001", quality: list[str] = ()):
    rows = [Observation("ok", latency_ms=v, ttft_ms=v // 5, cost_usd=Decimal(cost),
                        quality=Decimal(quality[i]) if i < len(quality) else None) for i, v in enumerate(latencies)]
    rows += [Observation("error") for _ in range(errors)]
    rows += [Observation("cancelled", latency_ms=1)]  # never counted
    return figures_from(name, rows)


SLOW = [1000, 1100, 950, 1200, 1050, 980, 1120, 1010, 1090, 1030, 1060, 990]
FAST = [700, 760, 690, 820, 710, 730, 800, 720, 750, 705, 740, 715]


def test_insufficient_data():
    result = compare(arm("control", SLOW[:5]), arm("treatment", FAST), CONFIG)
    assert (result.verdict.status, result.verdict.winner) == ("insufficient_data", None)
    assert "control has 5" in result.verdict.reason
    assert result.tests["latency_ms"] is not None  # the figures are still tested and shown


def test_treatment_wins_when_significantly_faster():
    result = compare(arm("control", SLOW), arm("treatment", FAST), CONFIG)
    assert (result.verdict.status, result.verdict.winner) == ("significant", "treatment")
    assert result.tests["latency_ms"].p_value < 1e-6 and result.tests["latency_ms"].difference < 0
    assert result.tests["error_rate"].p_value == 1.0


def test_control_wins_when_treatment_is_slower():
    result = compare(arm("control", FAST), arm("treatment", SLOW), CONFIG)
    assert (result.verdict.status, result.verdict.winner) == ("significant", "control")


def test_inconclusive_when_not_significant():
    result = compare(arm("control", SLOW), arm("treatment", list(reversed(SLOW))), CONFIG)
    assert (result.verdict.status, result.verdict.winner) == ("inconclusive", None)
    assert result.tests["latency_ms"].p_value == 1.0


def test_mixed_when_faster_but_significantly_dearer():
    control = arm("control", SLOW, cost="0.0010")
    treatment = figures_from("treatment", [
        Observation("ok", latency_ms=v, cost_usd=Decimal("0.0020") + Decimal(i) / 100000) for i, v in enumerate(FAST)])
    result = compare(control, treatment, CONFIG)
    assert (result.verdict.status, result.verdict.winner) == ("mixed", None)
    assert "significantly worse on cost_usd" in result.verdict.reason


def test_no_winner_while_a_guardrail_is_breached():
    control, treatment = arm("control", SLOW), arm("treatment", FAST, errors=4)
    guard = check(Guardrails.from_json({"min_samples": 10, "error_rate": {"max": "0.2"}}), control, treatment)
    assert guard.breached
    result = compare(control, treatment, CONFIG, guard)
    assert (result.verdict.status, result.verdict.winner) == ("guardrail_breached", None)


def test_quality_as_the_primary_metric_counts_feedback():
    config = ExperimentConfig.from_json({"min_samples_per_arm": 10, "primary_metric": "quality"})
    low = ["0.25", "0.5", "0.25", "0.5", "0.25", "0.5", "0.25", "0.5", "0.25", "0.5", "0.5", "0.25"]
    high = ["0.75", "1", "0.75", "1", "1", "0.75", "1", "1", "0.75", "1", "1", "0.75"]
    thin = compare(arm("control", SLOW, quality=low[:3]), arm("treatment", SLOW, quality=high), config)
    assert thin.verdict.status == "insufficient_data" and "feedback scores" in thin.verdict.reason
    result = compare(arm("control", SLOW, quality=low), arm("treatment", SLOW, quality=high), config)
    assert (result.verdict.status, result.verdict.winner) == ("significant", "treatment")
