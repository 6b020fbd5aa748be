"""``decide``: selection, fallbacks, explicit chains, cooling down, requested models,
NoRouteError, confidence, exact estimated cost, determinism."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

import pytest

from minerva_core.errors import NoRouteError, RoutingError
from minerva_core.routing import (
    BUILTIN_STRATEGIES,
    Catalog,
    RoutingDecision,
    decide,
    make_strategy,
    requirements_from_request,
)
from tests.routing.conftest import (
    LITERAL_HEALTH,
    LITERAL_RECORDS,
    literal_catalog,
    req,
    snapshot_records,
)

CHEAPEST = BUILTIN_STRATEGIES["cheapest"]
FASTEST = BUILTIN_STRATEGIES["fastest"]
QUALITY = BUILTIN_STRATEGIES["quality"]
BALANCED = BUILTIN_STRATEGIES["balanced"]


def entries(decision: RoutingDecision, verdict: str) -> list[tuple[str, str]]:
    return [(e.model_id, e.code) for e in decision.reasoning if e.verdict == verdict]


# -- selection and fallbacks ----------------------------------------------------------------

def test_strategy_picks_and_falls_back_in_rank_order(literal: Catalog) -> None:
    d = decide(literal, req(), CHEAPEST)
    assert d.selected_model == "epsilon/free:free"
    assert d.fallback_models == ("delta/fast", "alpha/cheap")  # max_fallbacks = 2
    assert d.models == ("epsilon/free:free", "delta/fast", "alpha/cheap")
    assert entries(d, "chosen") == [("epsilon/free:free", "rank:1")]
    assert entries(d, "fallback") == [("delta/fast", "rank:2"), ("alpha/cheap", "rank:3")]
    assert entries(d, "ranked") == [("zeta/twin", "rank:4")]  # the runner-up after them
    assert d.strategy == "cheapest" and d.ranking == "cheapest"
    assert d.eligible_count == 6 and d.excluded_counts == (("variable_price", 1),)


def test_each_builtin_strategy_selects_its_best(literal: Catalog) -> None:
    picks = {name: decide(literal, req(), s).selected_model
             for name, s in BUILTIN_STRATEGIES.items()}
    assert picks == {"cheapest": "epsilon/free:free", "fastest": "delta/fast",
                     "quality": "gamma/premium", "balanced": "epsilon/free:free"}


def test_max_fallbacks_bounds_the_ranked_fallbacks(literal: Catalog) -> None:
    strategy = make_strategy("c4", "cheapest", max_fallbacks=4)
    assert len(decide(literal, req(), strategy).fallback_models) == 4
    none = make_strategy("c0", "cheapest", max_fallbacks=0)
    assert decide(literal, req(), none).fallback_models == ()


def test_provider_sort_overrides_the_strategy_kind(literal: Catalog) -> None:
    assert decide(literal, req(sort="price"), QUALITY).selected_model == "epsilon/free:free"
    d = decide(literal, req(sort="latency"), CHEAPEST)
    assert d.selected_model == "delta/fast" and d.ranking == "fastest"
    assert decide(literal, req(sort="throughput"), CHEAPEST).ranking == "throughput"


def test_provider_order_is_a_preference(literal: Catalog) -> None:
    d = decide(literal, req(provider_order=("gamma", "beta")), CHEAPEST)
    assert d.models == ("gamma/premium", "beta/mid", "epsilon/free:free")


def test_provider_order_without_fallbacks_is_an_allow_list(literal: Catalog) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}],
            "provider": {"order": ["beta", "gamma"], "allow_fallbacks": False}}
    d = decide(literal, requirements_from_request(body), CHEAPEST)
    assert d.models == ("beta/mid", "gamma/premium")


def test_variable_price_router_ranks_in_non_cost_strategies(literal: Catalog) -> None:
    d = decide(literal, req(), make_strategy("fast7", "fastest", max_fallbacks=6))
    assert "openrouter/auto" in d.models
    assert "openrouter/auto" not in decide(literal, req(), make_strategy(
        "cheap7", "cheapest", max_fallbacks=6)).models


# -- explicit chains ----------------------------------------------------------------------

def test_models_chain_is_honoured_in_order_and_filtered(literal: Catalog) -> None:
    r = req(model="gamma/premium", models=("delta/fast", "beta/mid", "zeta/twin"),
            needs_tools=True)
    d = decide(literal, r, CHEAPEST)
    assert d.selected_model == "gamma/premium"
    # delta has no tools: dropped with its reason; then the chain, then 2 ranked
    assert d.fallback_models == ("beta/mid", "zeta/twin", "epsilon/free:free", "alpha/cheap")
    assert ("delta/fast", "no_tools") in entries(d, "excluded")
    assert entries(d, "chosen") == [("gamma/premium", "requested")]


def test_models_without_model_makes_the_first_the_request() -> None:
    body = {"models": ["beta/mid", "alpha/cheap"], "messages": [{"role": "user", "content": "x"}]}
    r = requirements_from_request(body)
    assert (r.model, r.models) == ("beta/mid", ("alpha/cheap",))
    d = decide(literal_catalog(), r, CHEAPEST)
    assert d.models[:2] == ("beta/mid", "alpha/cheap")


def test_first_valid_models_entry_serves_when_the_requested_fails(literal: Catalog) -> None:
    r = req(model="delta/fast", models=("alpha/cheap", "beta/mid"), needs_tools=True)
    d = decide(literal, r, QUALITY)
    assert d.selected_model == "alpha/cheap"
    assert d.fallback_models[:1] == ("beta/mid",)
    assert entries(d, "chosen") == [("alpha/cheap", "models_chain")]
    assert ("delta/fast", "no_tools") in entries(d, "excluded")


def test_strategy_chain_comes_after_the_request_chain_before_the_ranking(literal: Catalog) -> None:
    strategy = make_strategy("chain", "cheapest",
                             fallback_chain=["gamma/premium", "delta/fast", "nobody/x"])
    d = decide(literal, req(model="beta/mid", models=("zeta/twin",), needs_tools=True), strategy)
    assert d.models == ("beta/mid", "zeta/twin", "gamma/premium", "epsilon/free:free",
                        "alpha/cheap")
    assert ("delta/fast", "no_tools") in entries(d, "excluded")
    assert ("nobody/x", "not_found") in entries(d, "excluded")
    assert ("gamma/premium", "strategy_chain") in entries(d, "fallback")
    assert ("zeta/twin", "models_chain") in entries(d, "fallback")


def test_strategy_chain_follows_a_ranked_selection(literal: Catalog) -> None:
    strategy = make_strategy("chain", "cheapest", fallback_chain=["gamma/premium"])
    d = decide(literal, req(), strategy)
    assert d.models == ("epsilon/free:free", "gamma/premium", "delta/fast", "alpha/cheap")


# -- a requested model --------------------------------------------------------------------

def test_a_valid_requested_model_is_selected_and_ranking_only_adds_fallbacks(
    literal: Catalog,
) -> None:
    d = decide(literal, req(model="gamma/premium"), CHEAPEST)
    assert d.selected_model == "gamma/premium"
    assert d.requested_model == "gamma/premium"
    assert d.fallback_models == ("epsilon/free:free", "delta/fast")
    assert d.estimated_cost == Decimal("0.0525")


def test_an_invalid_requested_model_raises_with_its_reasons(literal: Catalog) -> None:
    with pytest.raises(NoRouteError) as info:
        decide(literal, req(model="alpha/cheap", prompt_tokens=9000,
                            input_modalities=frozenset({"text", "image"})), CHEAPEST)
    err = info.value
    assert isinstance(err, RoutingError)
    assert err.requested_model == "alpha/cheap"
    assert {(e.model_id, e.code) for e in err.reasons} == {
        ("alpha/cheap", "missing_modality:image"), ("alpha/cheap", "context_too_small")}
    assert err.codes >= {"missing_modality:image", "context_too_small"}
    assert "alpha/cheap" in str(err)


def test_an_unknown_requested_model_is_not_found(literal: Catalog) -> None:
    with pytest.raises(NoRouteError) as info:
        decide(literal, req(model="google/gemini-2.0-flash-001"), CHEAPEST)
    assert [(e.model_id, e.code) for e in info.value.reasons] == [
        ("google/gemini-2.0-flash-001", "not_found")]


def test_a_requested_variable_price_router_is_allowed(literal: Catalog) -> None:
    d = decide(literal, req(model="openrouter/auto"), CHEAPEST)
    assert d.selected_model == "openrouter/auto"
    assert d.estimated_cost is None


# -- cooling down -------------------------------------------------------------------------

def test_cooling_down_models_are_excluded_from_the_ranking(literal: Catalog) -> None:
    d = decide(literal, req(), CHEAPEST, cooling_down={"epsilon/free:free", "delta/fast"})
    assert d.models == ("alpha/cheap", "zeta/twin", "beta/mid")
    assert dict(d.excluded_counts)["cooling_down"] == 2


def test_a_cooling_down_requested_model_gets_a_substitute(literal: Catalog) -> None:
    d = decide(literal, req(model="beta/mid"), CHEAPEST, cooling_down={"beta/mid"})
    assert d.selected_model == "epsilon/free:free"
    assert d.requested_model == "beta/mid"
    assert entries(d, "chosen") == [("epsilon/free:free", "substitute")]
    assert ("beta/mid", "cooling_down") in entries(d, "excluded")
    assert "cooling down" in d.reasoning[0].reason


def test_a_cooling_down_request_prefers_the_strategy_chain(literal: Catalog) -> None:
    strategy = make_strategy("chain", "cheapest", fallback_chain=["zeta/twin"])
    d = decide(literal, req(model="beta/mid"), strategy, cooling_down={"beta/mid"})
    assert d.models[:2] == ("zeta/twin", "epsilon/free:free")
    assert entries(d, "chosen") == [("zeta/twin", "strategy_chain")]


# -- no route -----------------------------------------------------------------------------

def test_no_candidate_raises_carrying_every_exclusion(literal: Catalog) -> None:
    r = req(input_modalities=frozenset({"text", "audio"}), needs_tools=True)
    with pytest.raises(NoRouteError) as info:
        decide(literal, r, BALANCED)
    err = info.value
    assert err.strategy == "balanced" and err.requested_model is None
    by_model: dict[str, set[str]] = {}
    for e in err.reasons:
        assert e.verdict == "excluded"
        by_model.setdefault(e.model_id, set()).add(e.code)
    assert set(by_model) == {r["id"] for r in LITERAL_RECORDS}
    assert by_model["delta/fast"] == {"missing_modality:audio", "no_tools"}
    assert by_model["openrouter/auto"] == {"missing_modality:audio", "variable_price"}
    assert dict(err.excluded_counts) == {"missing_modality:audio": 7}
    assert "missing_modality:audio 7" in str(err)


def test_over_max_cost_everywhere_raises_with_the_reason(literal: Catalog) -> None:
    with pytest.raises(NoRouteError) as info:
        decide(literal, req(max_cost_usd=Decimal("0.0001"), needs_structured_output=True),
               CHEAPEST)
    codes = {e.code for e in info.value.reasons if e.model_id == "alpha/cheap"}
    assert codes == {"over_max_cost"}


def test_max_cost_excludes_dear_models_inside_the_ranking(literal: Catalog) -> None:
    d = decide(literal, req(max_cost_usd=Decimal("0.002")), QUALITY)
    assert d.selected_model == "delta/fast"  # 0.5 quality, cost .00125; gamma/beta/zeta too dear
    assert dict(d.excluded_counts)["over_max_cost"] >= 3


# -- estimated cost, latency, confidence --------------------------------------------------

def test_estimated_cost_is_exact_decimal() -> None:
    catalog = Catalog.from_records([{
        "id": "x/long", "context_length": 200_000, "prompt_price": "0.0000000208333333333333",
        "completion_price": "0.0000000416666666666667", "request_price": "0.0005",
    }])
    d = decide(catalog, req(prompt_tokens=123_457, completion_tokens=999), CHEAPEST)
    expected = (123_457 * Decimal("0.0000000208333333333333")
                + 999 * Decimal("0.0000000416666666666667") + Decimal("0.0005"))
    assert d.estimated_cost == expected
    # in units of 1e-22 USD: 123457 * 208333333333333 + 999 * 416666666666667 + 5 * 10**18
    #   = 25720208333333292181 + 416250000000000333 + 5000000000000000000
    assert d.estimated_cost == Decimal("0.0031136458333333292514")
    assert isinstance(d.estimated_cost, Decimal)


def test_estimated_latency_follows_the_stream_flag(literal: Catalog) -> None:
    assert decide(literal, req(model="beta/mid"), FASTEST).estimated_latency_ms == 800
    assert decide(literal, req(model="beta/mid", stream=True), FASTEST).estimated_latency_ms == 300
    assert decide(literal, req(model="epsilon/free:free"), FASTEST).estimated_latency_ms is None


def test_confidence_rules(literal: Catalog) -> None:
    # A clear winner on complete data: fastest delta 300 ms vs beta 800 ms (margin .625)
    d = decide(literal, req(), FASTEST)
    assert d.confidence_score == round(0.25 + 0.75 * 1.0 * (0.5 + 0.5 * 0.625), 4)
    # A requested model with health: 1.0; without health: 0.625
    assert decide(literal, req(model="beta/mid"), CHEAPEST).confidence_score == 1.0
    assert decide(literal, req(model="epsilon/free:free"), CHEAPEST).confidence_score == 0.625
    # A tie (two free models, no margin) on known cost: .625
    catalog = Catalog.from_records([
        {"id": f"f/{n}", "prompt_price": "0", "completion_price": "0"} for n in "ab"])
    assert decide(catalog, req(), CHEAPEST).confidence_score == 0.625
    # Blind: quality unknown for the pick and a tie -> the floor
    assert decide(catalog, req(), QUALITY).confidence_score == 0.25 + 0.75 * 0 * 1
    # Health from fewer than 20 requests counts half
    d = decide(literal, req(model="zeta/twin"), CHEAPEST)
    assert d.confidence_score == round(0.25 + 0.75 * 0.75, 4)
    for s in BUILTIN_STRATEGIES.values():
        assert 0 <= decide(literal, req(), s).confidence_score <= 1


# -- determinism and shape ----------------------------------------------------------------

def test_same_inputs_same_decision(snapshot_catalog_health: Catalog) -> None:
    rng = random.Random(3)
    for _ in range(20):
        r = req(prompt_tokens=rng.randint(1, 100_000), completion_tokens=rng.randint(1, 9000),
                needs_tools=rng.random() < 0.5, stream=rng.random() < 0.5)
        for strategy in BUILTIN_STRATEGIES.values():
            a = decide(snapshot_catalog_health, r, strategy)
            b = decide(snapshot_catalog_health, r, strategy)
            assert a == b
            assert a.reasoning_record() == b.reasoning_record()


def test_record_order_does_not_change_decisions() -> None:
    records = snapshot_records()
    shuffled = records[:]
    random.Random(5).shuffle(shuffled)
    a, b = Catalog.from_records(records), Catalog.from_records(shuffled)
    r = req(prompt_tokens=2000, completion_tokens=800, needs_tools=True)
    for strategy in BUILTIN_STRATEGIES.values():
        assert decide(a, r, strategy) == decide(b, r, strategy)


def test_reasoning_record_is_json_ready(literal: Catalog) -> None:
    import json

    d = decide(literal, req(model="delta/fast", models=("beta/mid",), needs_tools=True), BALANCED)
    record = d.reasoning_record()
    assert json.loads(json.dumps(record)) == record
    assert record["entries"][0] == {
        "model": "beta/mid", "verdict": "chosen", "code": "models_chain",
        "reason": "delta/fast is excluded; first valid entry of models[]"}


def test_weighted_reasoning_shows_the_score_parts(literal: Catalog) -> None:
    d = decide(literal, req(), BALANCED)
    assert d.reasoning[0].reason == (
        "rank 1 by balanced: score 0.7377 = 0.40*cost 1.000 + 0.30*latency 0.826"
        " + 0.30*quality 0.300 (estimated $0)")


def test_decision_is_immutable(literal: Catalog) -> None:
    d = decide(literal, req(), CHEAPEST)
    with pytest.raises(AttributeError):
        d.selected_model = "x"  # type: ignore[misc]


def test_literal_health_is_used(literal: Catalog) -> None:
    assert literal.health_of("delta/fast") == LITERAL_HEALTH["delta/fast"]
    assert replace(req(), model="x").model == "x"


# -- edges ----------------------------------------------------------------------------------

def test_expired_models_are_excluded_from_today_on() -> None:
    from datetime import date

    catalog = literal_catalog(delta__fast={"expiration_date": "2026-08-24"})
    assert decide(catalog, req(), FASTEST, today=date(2026, 8, 23)).selected_model == "delta/fast"
    d = decide(catalog, req(), FASTEST, today=date(2026, 8, 24))
    assert d.selected_model == "beta/mid"
    assert dict(d.excluded_counts)["expired"] == 1
    assert decide(catalog, req(), FASTEST).selected_model == "delta/fast"  # no day, no check


def test_zero_tokens_and_tiny_catalogs() -> None:
    catalog = Catalog.from_records([
        {"id": "a/x", "prompt_price": "0.000001", "completion_price": "0.000002",
         "request_price": "0.01"},
        {"id": "b/y", "prompt_price": "0.000001", "completion_price": "0.000002"},
    ])
    for strategy in BUILTIN_STRATEGIES.values():
        d = decide(catalog, req(prompt_tokens=0, completion_tokens=0), strategy)
        assert d.selected_model in {"a/x", "b/y"}
    assert decide(catalog, req(prompt_tokens=0, completion_tokens=0), CHEAPEST).models == (
        "b/y", "a/x")
    with pytest.raises(NoRouteError):
        decide(Catalog.from_records([]), req(), BALANCED)


def test_custom_weights_need_no_warm_up_but_can_have_one(literal: Catalog) -> None:
    from minerva_core.routing import strategy_weights

    custom = make_strategy("mine", "custom", weights={"cost": 1, "quality": 2})
    cold = decide(literal, req(), custom)
    literal.warm([strategy_weights(custom)])
    assert decide(literal, req(), custom) == cold
    assert cold.selected_model == "gamma/premium"


# -- asynchronous :batch variants -----------------------------------------------------------

def test_batch_variants_are_never_ranked_but_serve_when_named(snapshot_catalog: Catalog) -> None:
    batch = sorted(m for m in snapshot_catalog.ids if m.endswith(":batch"))
    assert batch, "the snapshot has :batch variants"
    for strategy in BUILTIN_STRATEGIES.values():
        d = decide(snapshot_catalog, req(), strategy)
        assert not any(m.endswith(":batch") for m in d.models), (strategy.name, d.models)
        assert dict(d.excluded_counts).get("async_variant", 0) >= 1
    named = decide(snapshot_catalog, req(model=batch[0]), CHEAPEST)
    assert named.selected_model == batch[0]
    assert not any(m.endswith(":batch") for m in named.fallback_models)
