"""Each strategy's order: literal expectations worked out by hand, and the fast rankings
(threshold walks over pre-sorted orders) checked against a brute-force reference on the
real 549-model snapshot for many request shapes."""

from __future__ import annotations

import math
import random

import pytest

from minerva_core.routing import Catalog, Requirements
from minerva_core.routing.candidates import eligibility
from minerva_core.routing.scoring import Ranker, alpha_grid
from tests.routing.conftest import req
from tests.routing.reference import ref_keys, ref_order

KINDS = ("cheapest", "fastest", "throughput", "quality", "balanced")


def engine_order(catalog: Catalog, r: Requirements, kind: str,
                 weights: tuple[float, float, float] = (0.4, 0.3, 0.3), k: int | None = None
                 ) -> list[str]:
    total = sum(weights)
    w = tuple(x / total for x in weights)
    cost_based = kind in ("cheapest", "quality") or (kind in ("balanced", "custom") and w[0])
    el = eligibility(catalog, r, exclude_variable=cost_based, exclude_async=True)
    ranker = Ranker(catalog, kind, prompt_tokens=r.prompt_tokens,
                    completion_tokens=r.completion_tokens, stream=r.stream,
                    cost_cap=el.cost_cap, weights=w, output_modalities=r.output_modalities)
    return [catalog.ids[i] for _, i in ranker.top(el.mask, k or catalog.n)]


# -- literal catalog, hand-computed (P = 1000, C = 500; figures in conftest) ----------------

def test_cheapest_order_by_estimated_cost(literal: Catalog) -> None:
    # 0 < 0.00125 < 0.002 < 0.007 < 0.0105 < 0.0525; openrouter/auto (variable) left out
    assert engine_order(literal, req(), "cheapest") == [
        "epsilon/free:free", "delta/fast", "alpha/cheap", "zeta/twin", "beta/mid",
        "gamma/premium",
    ]


def test_cheapest_ties_break_by_latency_then_id() -> None:
    catalog = Catalog.from_records(
        [
            {"id": "a/slow", "prompt_price": "0.000001", "completion_price": "0.000002"},
            {"id": "b/fast", "prompt_price": "0.000001", "completion_price": "0.000002"},
            {"id": "c/unknown", "prompt_price": "0.000001", "completion_price": "0.000002"},
            {"id": "d/also-unknown", "prompt_price": "0.000001", "completion_price": "0.000002"},
        ],
        health={"a/slow": {"p50_latency_ms": 900.0}, "b/fast": {"p50_latency_ms": 200.0}},
    )
    assert engine_order(catalog, req(), "cheapest") == [
        "b/fast", "a/slow", "c/unknown", "d/also-unknown",
    ]


def test_fastest_order_known_latency_first_then_unknown_by_id(literal: Catalog) -> None:
    # p50: delta 300, beta 800, zeta 1000, alpha 2000, gamma 3000; then no health at all
    assert engine_order(literal, req(), "fastest") == [
        "delta/fast", "beta/mid", "zeta/twin", "alpha/cheap", "gamma/premium",
        "epsilon/free:free", "openrouter/auto",
    ]


def test_fastest_uses_time_to_first_token_for_streams() -> None:
    catalog = Catalog.from_records(
        [{"id": f"m/{n}", "prompt_price": "0", "completion_price": "0"} for n in "ab"],
        health={"m/a": {"p50_latency_ms": 500, "ttft_ms": 400},
                "m/b": {"p50_latency_ms": 900, "ttft_ms": 100}},
    )
    assert engine_order(catalog, req(), "fastest") == ["m/a", "m/b"]
    assert engine_order(catalog, req(stream=True), "fastest") == ["m/b", "m/a"]


def test_fastest_equal_latency_prefers_throughput() -> None:
    catalog = Catalog.from_records(
        [{"id": f"m/{n}", "prompt_price": "0", "completion_price": "0"} for n in "ab"],
        health={"m/a": {"p50_latency_ms": 500, "throughput_tps": 50},
                "m/b": {"p50_latency_ms": 500, "throughput_tps": 90}},
    )
    assert engine_order(catalog, req(), "fastest") == ["m/b", "m/a"]


def test_quality_order_ties_broken_by_cost(literal: Catalog) -> None:
    # 0.95; then 0.8 twice (zeta 0.007 before beta 0.0105); unknown = 0.5; 0.4; 0.3
    assert engine_order(literal, req(), "quality") == [
        "gamma/premium", "zeta/twin", "beta/mid", "delta/fast", "alpha/cheap",
        "epsilon/free:free",
    ]


def test_balanced_order_hand_computed(literal: Catalog) -> None:
    # cost score 1 - log10((cost + f) / (0 + f)) / 5 with f = 1500 * 1e-8:
    #   epsilon 1, delta .6148, alpha .5744, zeta .4660, beta .4309, gamma .2912
    # latency score 1 - log10(p50 / 300) / 3 (epsilon unknown -> median 1000 ms):
    #   delta 1, beta .8580, zeta .8257, epsilon .8257, alpha .7254, gamma .6667
    # 0.4 cost + 0.3 latency + 0.3 quality:
    #   epsilon .7377, delta .6959, zeta .6741, beta .6698, gamma .6015, alpha .5674
    assert engine_order(literal, req(), "balanced") == [
        "epsilon/free:free", "delta/fast", "zeta/twin", "beta/mid", "gamma/premium",
        "alpha/cheap",
    ]


def test_custom_weights_move_the_choice(literal: Catalog) -> None:
    first = {
        w: engine_order(literal, req(), "custom", w)[0]
        for w in [(1, 0, 0), (0, 1, 0), (0, 0, 1), (0.1, 0.1, 0.8), (0.4, 0.3, 0.3)]
    }
    assert first == {
        (1, 0, 0): "epsilon/free:free",
        (0, 1, 0): "delta/fast",
        (0, 0, 1): "gamma/premium",
        (0.1, 0.1, 0.8): "gamma/premium",
        (0.4, 0.3, 0.3): "epsilon/free:free",
    }


def test_moving_weight_from_cost_to_quality_never_lowers_quality(literal: Catalog) -> None:
    quality = {m.id: m.quality_score or 0.5 for m in literal.models}
    seen = []
    for step in range(201):
        wq = step / 200
        top = engine_order(literal, req(), "custom", (1 - wq, 0, wq), k=1)[0]
        seen.append(top)
    qualities = [quality[m] for m in seen]
    assert qualities == sorted(qualities)
    # By hand: score = (1 - w) * cost_score + w * quality; epsilon (1, .3) leads until
    # w = .516, zeta (.466, .8) until w = .538, gamma (.291, .95) after.
    assert list(dict.fromkeys(seen)) == ["epsilon/free:free", "zeta/twin", "gamma/premium"]


def test_latency_weight_moves_choice_to_the_fastest(literal: Catalog) -> None:
    tops = [engine_order(literal, req(), "custom", (1 - wl, wl, 0), k=1)[0]
            for wl in (0.0, 0.5, 1.0)]
    assert tops[0] == "epsilon/free:free"
    assert tops[-1] == "delta/fast"


def test_weighted_order_does_not_depend_on_other_eligible_models(literal: Catalog) -> None:
    # Log scales anchored at the best: removing a model never swaps two others.
    full = engine_order(literal, req(), "balanced")
    for gone in full:
        r = req(ignored_providers=frozenset({gone.split("/")[0]}))
        assert engine_order(literal, r, "balanced") == [m for m in full if m != gone]


def test_alpha_grid_interpolation_is_exact() -> None:
    for P, C in [(1, 1), (3, 1024), (150_000, 8000), (31, 1024), (7, 0), (1000, 500)]:
        j, u, v = alpha_grid(P, C)
        p, c = 17, 230
        K = lambda jj: jj * p + (64 - jj) * c  # noqa: E731
        assert u >= 0 and v >= 0 and u + v == P + C
        assert u * K(j) + v * K(j + 1) == 64 * (P * p + C * c)


# -- the real snapshot: fast rankings == brute force, for many request shapes ------------

def _random_requirements(rng: random.Random) -> Requirements:
    prompt = rng.choice([3, 40, 900, 5_000, 60_000, 150_000, 400_000])
    completion = rng.choice([1, 64, 512, 1024, 8000, 32_000])
    return Requirements(
        prompt_tokens=prompt,
        completion_tokens=completion,
        input_modalities=frozenset(rng.choice([("text",), ("text", "image"), ("text", "file")])),
        output_modalities=frozenset(rng.choice([("text",), ("text",), ("image",)])),
        needs_tools=rng.random() < 0.4,
        needs_structured_output=rng.random() < 0.3,
        needs_reasoning=rng.random() < 0.2,
        stream=rng.random() < 0.5,
        ignored_providers=frozenset(rng.sample(["openai", "google", "anthropic", "qwen"],
                                               rng.randint(0, 2))),
        # a narrow allow list takes the small-set path (evaluate every eligible model)
        allowed_providers=rng.choice([None, None, None, frozenset({"openai", "mistralai"})]),
        min_uptime=rng.choice([None, None, 0.95]),
    )


@pytest.mark.parametrize("seed", range(40))
def test_fast_rankings_equal_brute_force_on_the_snapshot(
    snapshot_catalog_health: Catalog, seed: int
) -> None:
    rng = random.Random(seed)
    catalog = snapshot_catalog_health
    r = _random_requirements(rng)
    for kind in KINDS:
        k = rng.choice([1, 3, 5, 40])
        expected = ref_order(catalog, r, kind)[:k]
        assert engine_order(catalog, r, kind, k=k) == expected, (kind, r)


@pytest.mark.parametrize("seed", range(25))
def test_fast_weighted_rankings_equal_brute_force(snapshot_catalog_health: Catalog,
                                                   seed: int) -> None:
    rng = random.Random(1000 + seed)
    catalog = snapshot_catalog_health
    r = _random_requirements(rng)
    weights = (rng.choice([0, 0.2, 1]), rng.choice([0, 0.3, 1]), rng.choice([0.1, 0.5, 1]))
    k = rng.choice([1, 4, 30])
    keys = ref_keys(catalog, r, "custom", weights)
    got = engine_order(catalog, r, "custom", weights, k=k)
    expected = [key[-1] for key in keys[:k]]
    if got != expected:  # only a float near-tie (1e-12) may order differently
        score = {key[-1]: key[0] for key in keys}
        for a, b in zip(got, expected):
            assert math.isclose(score[a], score[b], abs_tol=1e-12), (a, b)


def test_snapshot_without_health_ranks_deterministically(snapshot_catalog: Catalog) -> None:
    r = req(prompt_tokens=50, completion_tokens=1024)
    for kind in KINDS:
        assert engine_order(snapshot_catalog, r, kind, k=10) == ref_order(
            snapshot_catalog, r, kind)[:10]


def test_max_cost_cap_applies_inside_rankings(snapshot_catalog_health: Catalog) -> None:
    from decimal import Decimal
    r = req(prompt_tokens=2000, completion_tokens=2000, max_cost_usd=Decimal("0.002"))
    for kind in KINDS:
        got = engine_order(snapshot_catalog_health, r, kind, k=25)
        assert got == ref_order(snapshot_catalog_health, r, kind)[:25]


def test_provider_order_partitions_the_ranking(snapshot_catalog_health: Catalog) -> None:
    from minerva_core.routing import BUILTIN_STRATEGIES, decide

    r = req(prompt_tokens=500, completion_tokens=500, provider_order=("anthropic", "openai"))
    for name, strategy in BUILTIN_STRATEGIES.items():
        d = decide(snapshot_catalog_health, r, strategy)
        kind = strategy.kind
        anthropic = [m for m in ref_order(snapshot_catalog_health, r, kind)
                     if m.lstrip("~").startswith("anthropic/")]  # ~aliases too
        assert list(d.models) == anthropic[:3], name


def test_k_larger_than_the_eligible_set(literal: Catalog) -> None:
    assert len(engine_order(literal, req(needs_reasoning=True), "balanced", k=50)) == 2
