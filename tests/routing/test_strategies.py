"""Strategies: built-ins, DB rows, validation, requirement overrides (stricter wins)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from minerva_core.errors import InvalidStrategyError
from minerva_core.routing import (
    BUILTIN_STRATEGIES,
    Catalog,
    Requirements,
    apply_overrides,
    decide,
    make_strategy,
    parse_overrides,
    strategy_from_record,
)
from minerva_core.routing.model import NO_OVERRIDES, Weights
from tests.routing.conftest import req

# The rows seeded by sql/20261128000300_keys_and_routing.sql
SEEDED = [
    {"name": "cheapest", "kind": "cheapest", "weights": {"cost": 1, "latency": 0, "quality": 0}},
    {"name": "fastest", "kind": "fastest", "weights": {"cost": 0, "latency": 1, "quality": 0}},
    {"name": "balanced", "kind": "balanced",
     "weights": {"cost": 0.4, "latency": 0.3, "quality": 0.3}},
    {"name": "quality", "kind": "quality", "weights": {"cost": 0, "latency": 0, "quality": 1}},
]


@pytest.mark.parametrize("row", SEEDED, ids=lambda r: r["name"])
def test_seeded_rows_read_as_the_builtins(row) -> None:
    strategy = strategy_from_record({**row, "requirements": {}, "fallback_chain": []})
    assert strategy == BUILTIN_STRATEGIES[row["name"]]


def test_custom_weights_from_a_row() -> None:
    s = strategy_from_record({"name": "mine", "kind": "custom", "weights": {"quality": 3,
                                                                            "cost": 1},
                              "requirements": {"supports_tools": True, "min_uptime": 0.99},
                              "fallback_chain": ["a/b", "a/b", "c/d"]})
    assert s.weights == Weights(cost=1, latency=0, quality=3)
    assert s.weights.normalised() == (0.25, 0.0, 0.75)
    assert s.requirements.needs_tools and s.requirements.min_uptime == 0.99
    assert s.fallback_chain == ("a/b", "c/d")


@pytest.mark.parametrize("kwargs", [
    {"kind": "random"},
    {"kind": "custom"},
    {"kind": "custom", "weights": {"cost": -1, "quality": 1}},
    {"kind": "custom", "weights": {"cost": 0, "latency": 0}},
    {"kind": "custom", "weights": {"speed": 1}},
    {"kind": "custom", "weights": {"cost": "1"}},
    {"requirements": {"supports_tool": True}},
    {"requirements": {"supports_tools": "yes"}},
    {"requirements": {"max_prompt_price": "free"}},
    {"requirements": {"min_uptime": 99}},
    {"requirements": {"min_context_length": 0}},
    {"requirements": {"data_collection": "maybe"}},
    {"requirements": {"input_modalities": "image"}},
    {"fallback_chain": "a/b"},
    {"max_fallbacks": -1},
])
def test_invalid_strategies_fail_loudly(kwargs) -> None:
    with pytest.raises(InvalidStrategyError):
        make_strategy("bad", **kwargs)


def test_empty_overrides_are_the_shared_singleton() -> None:
    assert parse_overrides({}) is NO_OVERRIDES
    assert parse_overrides({"supports_tools": False}) is NO_OVERRIDES
    assert apply_overrides(req(), NO_OVERRIDES) == req()


def test_overrides_merge_stricter_wins() -> None:
    o = parse_overrides({
        "supports_tools": True, "min_context_length": 50_000, "input_modalities": ["image"],
        "only": ["OpenAI", "beta"], "ignore": ["gamma"], "max_prompt_price": "0.000005",
        "max_cost_usd": "0.5", "min_uptime": 0.95, "data_collection": "deny",
        "required_parameters": ["seed"],
    })
    r = req(allowed_providers=frozenset({"beta", "alpha"}), max_prompt_price=Decimal("0.00001"),
            max_cost_usd=Decimal("0.1"), min_uptime=0.99, ignored_providers=frozenset({"x"}))
    merged = apply_overrides(r, o)
    assert merged.needs_tools and merged.deny_data_collection
    assert merged.min_context_length == 50_000 and merged.context_tokens == 50_000
    assert merged.input_modalities == {"text", "image"}
    assert merged.allowed_providers == {"beta"}
    assert merged.ignored_providers == {"x", "gamma"}
    assert merged.max_prompt_price == Decimal("0.000005")
    assert merged.max_cost_usd == Decimal("0.1")
    assert merged.min_uptime == 0.99
    assert merged.required_parameters == {"seed"}


def test_apply_overrides_keeps_every_request_field() -> None:
    full = Requirements(
        prompt_tokens=7, completion_tokens=9, max_tokens_explicit=True, model="m/x",
        models=("m/y",), output_modalities=frozenset({"text", "image"}), provider_order=("a",),
        allow_provider_fallbacks=False, sort="latency", stream=True,
        max_request_price=Decimal("0.1"))
    merged = apply_overrides(full, parse_overrides({"supports_reasoning": True}))
    for f in dataclasses.fields(Requirements):
        if f.name != "needs_reasoning":
            assert getattr(merged, f.name) == getattr(full, f.name), f.name
    assert merged.needs_reasoning


def test_strategy_overrides_apply_to_decisions(literal: Catalog) -> None:
    tools_only = make_strategy("t", "cheapest", requirements={"supports_tools": True,
                                                               "ignore": ["epsilon"]})
    assert decide(literal, req(), tools_only).selected_model == "alpha/cheap"
    images = make_strategy("i", "cheapest", requirements={"input_modalities": ["image"]})
    assert decide(literal, req(), images).selected_model == "beta/mid"
