"""Every exclusion reason, in both views (the eligible bitmask with its counts, and the
per-model sentences), and the two views agreeing on every model of the real snapshot."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from minerva_core.routing import Catalog, Requirements
from minerva_core.routing.candidates import eligibility, explain
from tests.routing.conftest import LITERAL_HEALTH, literal_catalog, req


def codes(catalog: Catalog, model_id: str, r: Requirements, **kw) -> set[str]:
    return {code for code, _ in explain(catalog, model_id, r, **kw)}


def eligible_ids(catalog: Catalog, r: Requirements, **kw) -> set[str]:
    return set(catalog.ids_of(eligibility(catalog, r, **kw).mask))


CASES = [
    # (id of the excluded model, requirements, code, catalog changes, explain/eligibility kw)
    ("nobody/here", req(), "not_found", {}, {}),
    ("alpha/cheap", req(), "disabled", {"alpha__cheap": {"status": "disabled"}}, {}),
    ("alpha/cheap", req(), "deprecated", {"alpha__cheap": {"status": "deprecated"}}, {}),
    ("alpha/cheap", req(), "expired", {"alpha__cheap": {"expiration_date": "2026-08-24"}},
     {"today": date(2026, 8, 24)}),
    ("alpha/cheap", req(), "cooling_down", {}, {"cooling": {"alpha/cheap"}}),
    ("alpha/cheap", req(output_modalities=frozenset({"image", "text"})),
     "missing_output_modality:image", {}, {}),
    ("alpha/cheap", req(input_modalities=frozenset({"text", "image"})),
     "missing_modality:image", {}, {}),
    ("beta/mid", req(input_modalities=frozenset({"text", "file"})), "missing_modality:file",
     {}, {}),
    ("gamma/premium", req(input_modalities=frozenset({"text", "audio"})),
     "missing_modality:audio", {}, {}),
    ("delta/fast", req(needs_tools=True), "no_tools", {}, {}),
    ("zeta/twin", req(needs_structured_output=True), "no_structured_output", {}, {}),
    ("alpha/cheap", req(needs_reasoning=True), "no_reasoning", {}, {}),
    ("alpha/cheap", req(required_parameters=frozenset({"seed"})), "missing_parameter:seed",
     {}, {}),
    ("alpha/cheap", req(prompt_tokens=7_600, completion_tokens=500), "context_too_small",
     {}, {}),
    ("alpha/cheap", req(min_context_length=100_000), "context_too_small", {}, {}),
    ("alpha/cheap", req(completion_tokens=6_000, prompt_tokens=10, max_tokens_explicit=True),
     "max_tokens_over_limit", {}, {}),
    ("alpha/cheap", req(allowed_providers=frozenset({"beta"})), "provider_denied", {}, {}),
    ("alpha/cheap", req(ignored_providers=frozenset({"alpha"})), "provider_denied", {}, {}),
    ("alpha/cheap", req(deny_data_collection=True), "data_collection",
     {"alpha__cheap": {"collects_data": True}}, {}),
    ("alpha/cheap", req(), "missing_price", {"alpha__cheap": {"prompt_price": None}}, {}),
    ("openrouter/auto", req(max_prompt_price=Decimal("0.00001")), "variable_price", {}, {}),
    ("gamma/premium", req(max_prompt_price=Decimal("0.00001")), "over_max_price", {}, {}),
    ("gamma/premium", req(max_completion_price=Decimal("0.00005")), "over_max_price", {}, {}),
    ("alpha/cheap", req(max_request_price=Decimal("0.001")), "over_max_price",
     {"alpha__cheap": {"request_price": "0.002"}}, {}),
    ("delta/fast", req(min_uptime=0.99), "low_uptime", {}, {}),
    ("beta/mid", req(max_cost_usd=Decimal("0.01")), "over_max_cost", {}, {}),
]


@pytest.mark.parametrize(("model_id", "r", "code", "changes", "kw"), CASES,
                         ids=[c[2] for c in CASES])
def test_each_exclusion_reason(model_id, r, code, changes, kw) -> None:
    catalog = literal_catalog(**changes)
    assert code in codes(catalog, model_id, r, **kw)
    if code in ("not_found", "over_max_cost"):
        return  # no catalog bit / checked inside the ranking (see test_engine)
    el_kw = dict(kw)
    if "cooling" in el_kw:
        el_kw["cooling_mask"] = catalog.mask_of(el_kw.pop("cooling"))
    el = eligibility(catalog, r, **el_kw)
    assert model_id not in catalog.ids_of(el.mask)
    assert el.counts[code] >= 1


def test_a_clean_model_has_no_reason(literal: Catalog) -> None:
    assert explain(literal, "beta/mid", req(needs_tools=True, needs_reasoning=True,
                                            input_modalities=frozenset({"text", "image"}))) == []


def test_reasons_are_sentences(literal: Catalog) -> None:
    reasons = dict(explain(literal, "alpha/cheap",
                           req(prompt_tokens=9_000, completion_tokens=500, needs_reasoning=True)))
    assert reasons["context_too_small"] == (
        "needs 9,500 tokens of context (prompt ~9,000 + 500 completion); has 8,000")
    assert reasons["no_reasoning"] == "does not support reasoning"
    gamma = dict(explain(literal, "gamma/premium", req(max_prompt_price=Decimal("0.00001"))))
    assert gamma["over_max_price"] == (
        "prompt price $15 per million tokens over the cap $10")


def test_variable_price_only_excluded_for_cost_rankings(literal: Catalog) -> None:
    assert "openrouter/auto" in eligible_ids(literal, req())
    assert "openrouter/auto" not in eligible_ids(literal, req(), exclude_variable=True)
    assert "openrouter/auto" in eligible_ids(
        literal, req(allow_variable_price=True), exclude_variable=True)


def test_a_default_max_tokens_does_not_exclude_small_completion_limits(literal: Catalog) -> None:
    r = req(prompt_tokens=10, completion_tokens=6_000, max_tokens_explicit=False)
    assert "alpha/cheap" in eligible_ids(literal, r)


def test_uptime_unknown_passes_the_uptime_filter(literal: Catalog) -> None:
    # epsilon has no health: it cannot be judged, so it is not excluded for low uptime.
    assert "epsilon/free:free" in eligible_ids(literal, req(min_uptime=0.999))
    assert eligible_ids(literal, req(min_uptime=0.999)) >= {"alpha/cheap", "zeta/twin"}


def test_providers_use_endpoints_when_known() -> None:
    catalog = Catalog.from_records([
        {"id": "meta/llama", "prompt_price": "0", "completion_price": "0",
         "providers": ["DeepInfra", "Together"]},
        {"id": "openai/gpt", "prompt_price": "0", "completion_price": "0"},
    ])
    assert eligible_ids(catalog, req(allowed_providers=frozenset({"together"}))) == {"meta/llama"}
    # one of two endpoints ignored: still servable; both: denied
    assert "meta/llama" in eligible_ids(catalog, req(ignored_providers=frozenset({"deepinfra"})))
    assert "meta/llama" not in eligible_ids(
        catalog, req(ignored_providers=frozenset({"deepinfra", "together"})))
    assert eligible_ids(catalog, req(allowed_providers=frozenset({"openai"}))) == {"openai/gpt"}


def test_counts_attribute_each_model_once_in_filter_order(literal: Catalog) -> None:
    r = req(needs_tools=True, input_modalities=frozenset({"text", "image"}))
    el = eligibility(literal, r)
    assert sum(el.counts.values()) + el.mask.bit_count() == len(literal)
    # delta/fast lacks both image input and tools: counted under the modality only
    assert el.counts == {"missing_modality:image": 5}
    assert set(literal.ids_of(el.mask)) == {"beta/mid", "gamma/premium"}


# -- the two views agree on the real snapshot ---------------------------------------------

def _random_req(rng: random.Random) -> Requirements:
    return Requirements(
        prompt_tokens=rng.choice([5, 3_000, 120_000, 900_000]),
        completion_tokens=rng.choice([16, 1024, 40_000]),
        max_tokens_explicit=rng.random() < 0.5,
        input_modalities=frozenset(rng.sample(["text", "image", "file", "audio"], 2)),
        output_modalities=frozenset(rng.choice([("text",), ("image",), ("text", "image")])),
        needs_tools=rng.random() < 0.5,
        needs_structured_output=rng.random() < 0.3,
        needs_reasoning=rng.random() < 0.3,
        required_parameters=frozenset(rng.sample(["seed", "top_k", "logprobs"], rng.randint(0, 2))),
        allowed_providers=rng.choice([None, None, frozenset({"openai", "google"})]),
        ignored_providers=frozenset(rng.sample(["anthropic", "x-ai"], rng.randint(0, 1))),
        max_prompt_price=rng.choice([None, Decimal("0.000002")]),
        max_completion_price=rng.choice([None, Decimal("0.00001")]),
        min_uptime=rng.choice([None, 0.97]),
    )


@pytest.mark.parametrize("seed", range(30))
def test_mask_and_sentences_agree_on_every_snapshot_model(
    snapshot_catalog_health: Catalog, seed: int
) -> None:
    rng = random.Random(seed)
    catalog = snapshot_catalog_health
    r = _random_req(rng)
    cooling = set(rng.sample(catalog.ids, 5))
    today = date(2026, 8, 24)
    exclude_variable = rng.random() < 0.5
    exclude_async = rng.random() < 0.5
    el = eligibility(catalog, r, cooling_mask=catalog.mask_of(cooling), today=today,
                     exclude_variable=exclude_variable, exclude_async=exclude_async)
    for i, model_id in enumerate(catalog.ids):
        reasons = explain(catalog, model_id, r, cooling=cooling, today=today,
                          exclude_variable=exclude_variable, exclude_async=exclude_async)
        assert bool(el.mask >> i & 1) == (not reasons), (model_id, reasons)
    assert sum(el.counts.values()) + el.mask.bit_count() == len(catalog)


def test_health_fixture_covers_uptime_filter() -> None:
    assert LITERAL_HEALTH["delta/fast"].uptime == 0.97


def test_provider_order_without_fallbacks_filters(literal: Catalog) -> None:
    r = req(provider_order=("beta",), allow_provider_fallbacks=False)
    assert eligible_ids(literal, r) == {"beta/mid"}
    assert codes(literal, "alpha/cheap", r) == {"provider_denied"}
    assert len(eligible_ids(literal, req(provider_order=("beta",)))) == len(literal)
