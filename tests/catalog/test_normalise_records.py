"""normalise_catalog on literal records: fields, flags, unknown keys, issues and errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson
import polars as pl
import pytest

from minerva_core.catalog import normalise_catalog
from minerva_core.errors import (
    CatalogError,
    CatalogPriceError,
    CatalogRecordError,
    DuplicateModelError,
)
from tests.catalog.conftest import make_record


def one(record: dict) -> tuple[dict, dict]:
    catalog = normalise_catalog({"data": [record]})
    return catalog.models.row(0, named=True), catalog.prices.row(0, named=True)


def test_basic_fields() -> None:
    model, price = one(make_record("acme/widget-1.5-70b-instruct:free", hugging_face_id="acme/w"))
    assert model["base_id"] == "acme/widget-1.5-70b-instruct"
    assert model["variant"] == "free"
    assert model["upstream_provider"] == "acme"
    assert model["model_family"] == "widget-1.5"
    assert model["canonical_slug"] == "acme/widget-1.5-70b-instruct"
    assert model["hugging_face_id"] == "acme/w"
    assert model["created"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert model["context_length"] == 128000
    assert model["max_completion_tokens"] == 8192
    assert model["input_modalities"] == ["text", "image"]
    assert model["output_modalities"] == ["text"]
    assert model["modality"] == "text+image->text"
    assert orjson.loads(model["default_parameters"]) == {
        "temperature": None, "top_p": None, "frequency_penalty": None
    }
    assert model["per_request_limits"] is None
    assert price["prompt"] == Decimal("0.000001")
    assert price["completion"] == Decimal("0.000002")
    assert price["is_variable"] is False and price["is_free"] is False


@pytest.mark.parametrize(
    ("params", "flags"),
    [
        ([], set()),
        (["tools"], {"supports_tools"}),
        (["tool_choice"], {"supports_tools", "supports_tool_choice"}),
        (["response_format"], {"supports_json"}),
        (["structured_outputs"], {"supports_json", "supports_structured_outputs"}),
        (["reasoning"], {"supports_reasoning"}),
        (["include_reasoning"], {"supports_reasoning"}),
        (["web_search_options"], {"supports_web_search"}),
    ],
)
def test_capability_flags(params: list[str], flags: set[str]) -> None:
    model, _ = one(make_record(supported_parameters=params))
    all_flags = {
        "supports_tools", "supports_tool_choice", "supports_json",
        "supports_structured_outputs", "supports_reasoning", "supports_web_search",
    }
    assert {f for f in all_flags if model[f]} == flags


def test_reasoning_object_alone_means_reasoning() -> None:
    model, _ = one(make_record(reasoning={"mandatory": True, "supports_max_tokens": True}))
    assert model["supports_reasoning"] is True
    assert model["reasoning_mandatory"] is True
    assert model["reasoning_supports_max_tokens"] is True
    assert model["reasoning_efforts"] is None
    bare, _ = one(make_record())
    assert bare["supports_reasoning"] is False and bare["reasoning_mandatory"] is None


def test_missing_supported_parameters_means_no_capabilities() -> None:
    model, _ = one(make_record(_drop=["supported_parameters"]))
    assert model["supported_parameters"] is None
    assert model["supports_tools"] is False


def test_variable_price() -> None:
    _, price = one(make_record("openrouter/auto", pricing={"prompt": "-1", "completion": "-1"}))
    assert price["is_variable"] is True
    assert price["prompt"] is None and price["completion"] is None and price["request"] is None


def test_2025_style_explicit_zeros_and_discount() -> None:
    _, price = one(
        make_record(
            pricing={
                "prompt": "0.0000025", "completion": "0.00001", "request": "0", "image": "0.003613",
                "web_search": "0", "internal_reasoning": "0", "discount": 0.25,
            }
        )
    )
    assert price["request"] == 0 and price["image"] == Decimal("0.003613")
    assert price["discount"] == Decimal("0.25")
    assert price["audio"] == 0


def test_free_detection() -> None:
    _, free = one(make_record("a/b:free", pricing={"prompt": "0", "completion": "0"}))
    assert free["is_free"] is True
    image_prices = {"prompt": "0", "completion": "0", "image_output": "0.04"}
    _, image = one(make_record("a/img", pricing=image_prices))
    assert image["is_free"] is False


def test_unknown_top_level_and_nested_keys_are_kept_and_reported() -> None:
    record = make_record(
        brand_new={"x": 1},
        pricing={"prompt": "0.000001", "completion": "0.000002", "video": "0.1",
                 "overrides": [{"max_prompt_tokens": 5, "prompt": "0.000002"}]},
        top_provider={
            "context_length": 1, "max_completion_tokens": 1, "is_moderated": True, "region": "eu"
        },
    )
    catalog = normalise_catalog([record, make_record("a/other", brand_new=2)])
    assert catalog.unknown_fields == (
        "brand_new", "pricing.overrides.max_prompt_tokens", "pricing.video", "top_provider.region"
    )
    assert catalog.unknown_field_counts["brand_new"] == 2
    assert orjson.loads(catalog.models["raw"][0]) == record  # nothing lost
    assert catalog.issues == ()


def test_wrongly_typed_values_become_null_with_an_issue() -> None:
    record = make_record(
        context_length="lots", created="1767225600", knowledge_cutoff="2025/01/01",
        expiration_date="2026-09-30", supported_parameters="tools", architecture=["text"],
    )
    catalog = normalise_catalog([record])
    model = catalog.models.row(0, named=True)
    assert model["context_length"] is None
    assert model["created"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # digit string accepted
    assert model["knowledge_cutoff"] is None
    assert model["expiration_date"] == dt.date(2026, 9, 30)
    assert model["supported_parameters"] is None and model["input_modalities"] is None
    assert {i.field for i in catalog.issues} == {
        "context_length", "knowledge_cutoff", "supported_parameters", "architecture"
    }
    assert all(i.index == 0 and i.model_id == "acme/widget-1" for i in catalog.issues)


@pytest.mark.parametrize("bad", [{"id": ""}, {"id": None}, {"id": 7}, {"name": "no id"}])
def test_record_without_id_raises_naming_the_index(bad: dict) -> None:
    records = [make_record("a/ok"), make_record("b/ok"), {**make_record(), **bad}]
    if "name" in bad:
        del records[2]["id"]
    with pytest.raises(CatalogRecordError) as info:
        normalise_catalog({"data": records})
    assert info.value.index == 2
    assert "#2" in str(info.value)
    assert isinstance(info.value, CatalogError)


def test_non_object_record_raises() -> None:
    with pytest.raises(CatalogRecordError) as info:
        normalise_catalog([make_record(), "openai/gpt-4o"])
    assert info.value.index == 1


def test_duplicate_id_raises() -> None:
    with pytest.raises(DuplicateModelError) as info:
        normalise_catalog([make_record("a/x"), make_record("a/y"), make_record("a/x")])
    assert (info.value.index, info.value.model_id) == (2, "a/x")
    assert "#0" in str(info.value)


@pytest.mark.parametrize(
    ("pricing", "field"),
    [
        ({"completion": "0.1"}, "pricing.prompt"),
        ({"prompt": "0.1", "completion": None}, "pricing.completion"),
        ({"prompt": "0.1", "completion": "abc"}, "pricing.completion"),
        ({"prompt": "-0.5", "completion": "0.1"}, "pricing.prompt"),
        ({"prompt": "0.1", "completion": "0.1", "image": "0." + "0" * 30 + "1"}, "pricing.image"),
        ({"prompt": "123456789", "completion": "0.1"}, "pricing.prompt"),
        ({"prompt": "0.1", "completion": "0.1", "audio": True}, "pricing.audio"),
        ({"prompt": "0.1", "completion": "0.1", "overrides": {"prompt": "1"}}, "pricing.overrides"),
        (
            {"prompt": "0.1", "completion": "0.1", "overrides": [{"prompt": "x"}]},
            "pricing.overrides",
        ),
    ],
)
def test_unreadable_or_missing_prices_raise(pricing: dict, field: str) -> None:
    with pytest.raises(CatalogPriceError) as info:
        normalise_catalog([make_record("a/ok"), make_record("a/bad", pricing=pricing)])
    assert (info.value.index, info.value.model_id, info.value.field) == (1, "a/bad", field)


def test_no_pricing_object_raises() -> None:
    with pytest.raises(CatalogPriceError):
        normalise_catalog([make_record(_drop=["pricing"])])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e-7", Decimal("0.0000001")),
        ("0.00000008333333333333334", Decimal("0.00000008333333333333334")),
        (3, Decimal(3)),
        (2.5e-06, Decimal("0.0000025")),
        ("0.000003000", Decimal("0.000003")),
    ],
)
def test_other_exact_spellings_are_read_exactly(value: object, expected: Decimal) -> None:
    _, price = one(make_record(pricing={"prompt": value, "completion": "0"}))
    assert price["prompt"] == expected


def test_alias_record() -> None:
    record = make_record(
        "~acme/widget-latest",
        alias_target={"name": "Acme: Widget 2.5", "slug": "acme/widget-2.5-pro"},
    )
    model, _ = one(record)
    assert model["is_alias"] is True
    assert model["resolved_id"] == "acme/widget-2.5-pro"
    assert model["upstream_provider"] == "acme"
    assert model["model_family"] == "widget-2.5"
    assert model["canonical_slug"] == "~acme/widget-latest"


def test_benchmarks_quality_score() -> None:
    bench = {
        "design_arena": [
            {"arena": "models", "category": "website", "elo": 1300, "win_rate": 60.0, "rank": 3},
            {"arena": "agents", "category": "x", "elo": 1200.5, "win_rate": 40, "rank": 9},
        ],
        "artificial_analysis": {
            "intelligence_index": 56, "coding_index": 76.1, "agentic_index": None
        },
    }
    model, _ = one(make_record(benchmarks=bench))
    assert model["quality_score"] == 56.0
    assert model["aa_coding_index"] == 76.1 and model["aa_agentic_index"] is None
    assert model["design_arena_elo"] == 1250.25
    assert orjson.loads(model["benchmarks"]) == bench
    arena_only, _ = one(make_record(benchmarks={"design_arena": bench["design_arena"]}))
    assert arena_only["quality_score"] is None and arena_only["design_arena_elo"] == 1250.25
    none, _ = one(make_record())
    assert none["quality_score"] is None and none["benchmarks"] is None


def test_metadata_hash_ignores_prices_key_order_and_null_keys() -> None:
    a = make_record()
    b = dict(reversed(list(make_record(pricing={"prompt": "9", "completion": "9"}).items())))
    c = make_record(expiration_date=None, knowledge_cutoff=None)
    d = make_record(description="changed")
    h = [normalise_catalog([r]).models["metadata_hash"].item() for r in (a, b, c, d)]
    assert h[0] == h[1] == h[2] != h[3]


def test_frames_are_polars() -> None:
    catalog = normalise_catalog([make_record()])
    assert isinstance(catalog.models, pl.DataFrame) and isinstance(catalog.prices, pl.DataFrame)
    assert len(catalog) == 1
