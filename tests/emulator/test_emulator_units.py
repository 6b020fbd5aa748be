"""The emulator's pure parts on literal data (no server)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext

import jsonschema
import orjson
import pytest

from minerva_core.emulator import content
from minerva_core.emulator.activity import Ledger
from minerva_core.emulator.catalog import Catalog, CatalogModel
from minerva_core.emulator.chat_request import ChatError, parse_chat_request
from minerva_core.emulator.endpoints import build_endpoints
from minerva_core.emulator.faults import FaultBook
from minerva_core.emulator.generations import Generation, GenerationStore
from minerva_core.emulator.jsonbody import dumps
from minerva_core.emulator.listing import Listing, ModelQuery, QueryError, parse_query
from minerva_core.pricing import Usage, compute_cost, parse_pricing

MODELS = [
    {"id": f"acme/m{i}", "canonical_slug": f"acme/m{i}-2026", "name": f"Acme: M{i}", "context_length": 1000 * i,
     "architecture": {"input_modalities": ["text"], "output_modalities": ["image"] if i % 5 == 0 else ["text"]},
     "pricing": {"prompt": "0.000001", "completion": "0.000002"}, "supported_parameters": ["tools"] if i % 2 else [],
     "top_provider": {"context_length": 1000 * i, "max_completion_tokens": 100, "is_moderated": False}}
    for i in range(1, 24)
]


def test_listing_pages_and_links() -> None:
    listing = Listing(Catalog(MODELS))
    whole = orjson.loads(listing.page(ModelQuery()))
    assert whole["total_count"] == 19 and whole["links"]["next"] is None
    page = orjson.loads(listing.page(parse_query({"limit": "5", "offset": "5", "output_modalities": "all"})))
    assert [m["id"] for m in page["data"]] == [f"acme/m{i}" for i in range(6, 11)]
    assert page["links"]["next"] == "/api/v1/models?output_modalities=all&offset=10&limit=5"
    last = orjson.loads(listing.page(parse_query({"limit": "5", "offset": "20", "output_modalities": "all"})))
    assert len(last["data"]) == 3 and last["links"]["next"] is None
    assert listing.count(parse_query({"supported_parameters": "tools"})) == 10
    with pytest.raises(QueryError):
        parse_query({"limit": "1001"})


def test_catalog_lookup_prefers_the_plain_model_for_a_shared_slug() -> None:
    catalog = Catalog([
        {**MODELS[0], "id": "acme/m1:free", "pricing": {"prompt": "0", "completion": "0"}},
        MODELS[0],
    ])
    assert catalog.lookup("acme/m1-2026").id == "acme/m1"
    assert catalog.lookup("acme/m1:free").id == "acme/m1:free"
    assert catalog.billable_text_models(free=True)[0].id == "acme/m1:free"


def test_first_endpoint_is_priced_like_the_catalog_and_all_are_deterministic() -> None:
    model = CatalogModel(MODELS[2], parse_pricing(MODELS[2]["pricing"]))
    one, two = build_endpoints(model, seed=1), build_endpoints(model, seed=1)
    assert [e.as_json(model, with_latency=True) for e in one] == [e.as_json(model, with_latency=True) for e in two]
    assert one[0].raw_pricing == MODELS[2]["pricing"]
    for endpoint in one[1:]:
        effective = endpoint.pricing.prompt * (1 - endpoint.pricing.discount)
        assert effective >= Decimal("0.000001")
    assert len({e.endpoint_id for e in one}) == len(one)


def test_chat_request_reading() -> None:
    hello = [{"role": "user", "content": "x"}]
    request = parse_chat_request({"model": "a/b", "models": ["c/d", "a/b"], "messages": hello,
                                  "reasoning": {"effort": "high", "max_tokens": 9}, "plugins": [{"id": "web"}]})
    assert request.candidates == ("a/b", "c/d")
    assert (request.reasoning, request.reasoning_max_tokens, request.web_search) == (True, 9, True)
    streamed = parse_chat_request({"model": "a/b", "messages": [{"role": "user", "content": "x"}], "stream": True,
                                   "reasoning": {"effort": "high", "max_tokens": 9}, "plugins": [{"id": "web"}],
                                   "models": ["c/d", "a/b"]})
    assert streamed.digest == request.digest  # stream or not, same reply
    off = parse_chat_request({"model": "a/b", "messages": hello, "reasoning_effort": "none"})
    assert off.reasoning is False
    for bad in ({"model": "a/b", "messages": []}, {"messages": [{"role": "user"}]},
                {"model": 3, "messages": [{"role": "u"}]},
                {"model": "a/b", "messages": [{"role": "user"}], "max_tokens": 0}):
        with pytest.raises(ChatError):
            parse_chat_request(bad)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "required": ["a", "b"],
         "properties": {"a": {"type": "string", "minLength": 12},
                        "b": {"type": "integer", "minimum": 5, "maximum": 6}}},
        {"type": "array", "items": {"type": "number"}, "minItems": 3},
        {"type": "object", "properties": {"when": {"type": "string", "format": "date"},
                                          "kind": {"enum": ["x", "y"]}, "n": {"type": ["null", "boolean"]},
                                          "ref": {"$ref": "#/$defs/thing"}},
         "$defs": {"thing": {"type": "object", "properties": {"id": {"const": 7}}}}},
        {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer"}]},
    ],
)
def test_json_instances_satisfy_their_schema(schema: dict) -> None:
    for seed in range(5):
        value = json.loads(content.json_text(schema, random.Random(seed)))
        jsonschema.validate(value, schema)


def test_text_pieces_are_deterministic_and_counted() -> None:
    one = content.text_pieces(random.Random(3), 40)
    assert one == content.text_pieces(random.Random(3), 40)
    assert len(one) == 40 and one[-1].endswith(".") and not one[0].startswith(" ")
    assert content.text_pieces(random.Random(3), 0) == []


def test_fault_book_counts_down_and_clears() -> None:
    book = FaultBook()
    book.arm("m", "429", 2)
    book.arm("/models", "hang", None)
    assert [book.take("m") for _ in range(3)] == ["429", "429", None]
    assert [book.take("/models") for _ in range(3)] == ["hang"] * 3
    assert book.clear() == 1 and not book
    with pytest.raises(ValueError):
        book.arm("m", "explode")


def _generation(index: int, cost_usage: Usage, pricing: dict, when: datetime, key: str = "k") -> Generation:
    cost = compute_cost(parse_pricing(pricing), cost_usage)
    return Generation(
        id=f"gen-{index}", request_id="r", upstream_id="u", created_at=when, model_id="acme/m1",
        permaslug="acme/m1-2026",
        router=None, provider_name="DeepInfra", endpoint_id="e1" if index % 2 else "e2", api_key=key, streamed=False,
        cancelled=False, finish_reason="stop", usage=cost_usage, cost=cost, cache_discount=None, latency_ms=1,
        generation_time_ms=1, media=0, provider_responses=(),
    )


def test_activity_sums_are_exact_beyond_28_digits() -> None:
    pricing = {"prompt": "0.0000000208333333333333", "completion": "10.00000008333333333333334"}
    now = datetime(2026, 8, 19, 12, tzinfo=timezone.utc)
    generations = [_generation(i, Usage(prompt_tokens=1000 + i, completion_tokens=7 * i), pricing,
                               now - timedelta(days=i % 3), key="k" if i % 4 else "other") for i in range(300)]
    ledger = Ledger()
    for generation in generations:
        ledger.add(generation)
    rows = ledger.rows()
    with localcontext(prec=200):
        expected = sum((g.total_cost for g in generations), Decimal(0))
        assert sum((r["usage"] for r in rows), Decimal(0)) == expected == ledger.total
        mine = [g for g in generations if g.api_key == "k"]
        usage = ledger.key_usage("k", now)
        assert usage["usage"] == sum((g.total_cost for g in mine), Decimal(0))
        assert usage["usage_daily"] == sum((g.total_cost for g in mine if g.created_at == now), Decimal(0))
    assert len(expected.as_tuple().digits) > 28
    assert len(rows) == 6 and [r["date"] for r in rows] == sorted((r["date"] for r in rows), reverse=True)
    assert sum(r["requests"] for r in rows) == 300
    assert ledger.rows(on=now.date()) == [r for r in rows if r["date"] == "2026-08-19"]
    assert json.loads(dumps(rows[0]), parse_float=Decimal)["usage"] == rows[0]["usage"]
    ledger.clear()
    assert ledger.rows() == [] and ledger.total == 0


def test_generation_store_delays_visibility() -> None:
    store = GenerationStore(delay_ms=500)
    generation = _generation(1, Usage(prompt_tokens=1), {"prompt": "1", "completion": "1"}, datetime.now(timezone.utc))
    store.add(generation, finished_at=100.0)
    assert store.visible("gen-1", now=100.4) is None
    assert store.visible("gen-1", now=100.5) is generation
    assert store.visible("gen-2", now=200.0) is None


def test_decimals_go_into_json_as_their_digits() -> None:
    assert dumps({"cost": Decimal("0.00000008333333333333334"), "n": Decimal("1E-7"), "z": Decimal("0E-9")}) == (
        b'{"cost":0.00000008333333333333334,"n":0.0000001,"z":0}'
    )
