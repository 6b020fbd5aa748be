"""Guardrail decisions on literal figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from minerva_core.errors import InvalidParameterError
from minerva_core.migration.arms import Observation, figures_from
from minerva_core.migration.guardrails import Guardrails, check


def arm(name: str, n: int, *, errors: int = 0, latency: int = 1000, cost: str = "0.001"):
    rows = [Observation("error") for _ in range(errors)]
    rows += [Observation("ok", latency_ms=latency, ttft_ms=latency // 4, cost_usd=Decimal(cost)) for _ in range(n - errors)]
    return figures_from(name, rows)


def rails(**limits) -> Guardrails:
    return Guardrails.from_json({"min_samples": 20, **limits})


def test_absolute_error_rate_breach():
    result = check(rails(error_rate={"max": "0.05"}), arm("control", 100), arm("treatment", 100, errors=6))
    assert result.evaluated and result.breached
    assert [b.describe() for b in result.breaches] == ["error_rate 0.06 > max 0.05"]


def test_within_limits():
    result = check(rails(error_rate={"max": "0.05", "max_ratio": "2"}, p95_latency_ms={"max": "2000"}),
                   arm("control", 100, errors=2), arm("treatment", 100, errors=3))
    assert result.evaluated and not result.breached


def test_ratio_against_control_for_latency_and_cost():
    result = check(rails(p95_latency_ms={"max_ratio": "1.5"}, cost_per_request_usd={"max_ratio": "1.25"}),
                   arm("control", 50, latency=1000, cost="0.0010"), arm("treatment", 50, latency=1600, cost="0.0013"))
    assert [(b.metric, b.kind, b.observed, b.control) for b in result.breaches] == [
        ("p95_latency_ms", "max_ratio", Decimal("1600.0"), Decimal("1000.0")),
        ("cost_per_request_usd", "max_ratio", Decimal("0.0013"), Decimal("0.0010")),
    ]


def test_error_ratio_floors_a_spotless_control():
    # Control 0/100 errors: floored at 1/100, so 2/100 on treatment is exactly 2x: not above.
    spec = rails(error_rate={"max_ratio": "2"})
    assert not check(spec, arm("control", 100), arm("treatment", 100, errors=2)).breached
    assert check(spec, arm("control", 100), arm("treatment", 100, errors=3)).breached


def test_too_few_samples_are_not_judged():
    spec = rails(error_rate={"max": "0.01", "max_ratio": "1.1"})
    early = check(spec, arm("control", 100), arm("treatment", 10, errors=10))
    assert not early.evaluated and not early.breached
    # Enough treatment but a thin control: the absolute limit applies, the ratio is skipped.
    thin = check(rails(error_rate={"max_ratio": "1.1"}), arm("control", 5), arm("treatment", 40, errors=20))
    assert thin.evaluated and not thin.breached
    assert thin.notes == ("error_rate: ratio not judged, control has 5 request(s)",)


def test_config_round_trip_and_validation():
    spec = Guardrails.from_json({"window_minutes": 30, "error_rate": {"max": "0.05"}, "cost_per_request_usd": {"max_ratio": 2}})
    assert spec.to_json() == {"window_minutes": 30, "min_samples": 50, "error_rate": {"max": "0.05"},
                              "cost_per_request_usd": {"max_ratio": "2"}}
    for bad in ({"error_rate": {"max": 0.05}}, {"latency": {"max": "1"}}, {"error_rate": {"max": "2"}},
                {"window_minutes": 0}, {"p95_latency_ms": {}}, {"cost_per_request_usd": {"max": "-1"}}):
        with pytest.raises(InvalidParameterError) as info:
            Guardrails.from_json(bad)
        assert info.value.code == "invalid_guardrails"
