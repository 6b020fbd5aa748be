"""The six real /models snapshots normalise completely and without loss."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson
import polars as pl

from minerva_core.catalog import MODELS_SCHEMA, PRICE_DIMENSIONS, PRICES_SCHEMA, normalise_catalog
from tests.catalog.conftest import SNAPSHOTS, load_payload, normalised, records_of


def test_row_count_equals_model_count(snapshot_name: str) -> None:
    payload = load_payload(snapshot_name)
    catalog = normalised(snapshot_name)
    assert catalog.models.height == catalog.prices.height == SNAPSHOTS[snapshot_name]
    assert catalog.models["id"].to_list() == [r["id"] for r in records_of(payload)]
    assert catalog.prices["id"].to_list() == catalog.models["id"].to_list()
    if isinstance(payload, dict) and "total_count" in payload:
        assert catalog.total_count == catalog.models.height
    assert catalog.shape == ("bare" if isinstance(payload, list) else "envelope")


def test_typed_columns(snapshot_name: str) -> None:
    catalog = normalised(snapshot_name)
    assert dict(catalog.models.schema) == MODELS_SCHEMA
    assert dict(catalog.prices.schema) == PRICES_SCHEMA


def test_raw_round_trips_every_record(snapshot_name: str) -> None:
    records = records_of(load_payload(snapshot_name))
    raws = normalised(snapshot_name).models["raw"].to_list()
    assert all(orjson.loads(raw) == record for raw, record in zip(raws, records, strict=True))


def test_no_unknown_fields_and_no_issues_in_real_data(snapshot_name: str) -> None:
    catalog = normalised(snapshot_name)
    assert catalog.unknown_fields == ()
    assert catalog.issues == ()


def test_every_price_string_survives_exactly(snapshot_name: str) -> None:
    records = records_of(load_payload(snapshot_name))
    rows = normalised(snapshot_name).prices.to_dicts()
    checked = 0
    for record, row in zip(records, rows, strict=True):
        for key, value in record["pricing"].items():
            if key == "overrides" or value == "-1":
                continue
            assert isinstance(row[key], Decimal)
            assert row[key] == Decimal(value), (record["id"], key, value)
            checked += 1
        for key in PRICE_DIMENSIONS:
            if key not in record["pricing"] and not row["is_variable"]:
                assert row[key] == 0  # absent zero keys read as 0, never null
    assert checked > 900


def test_longest_price_strings_are_exact() -> None:
    prices = normalised("models-2026-02-27.json").prices
    row = prices.filter(pl.col("id") == "google/gemini-2.5-flash").row(0, named=True)
    assert row["input_cache_write"] == Decimal("0.00000008333333333333334")  # 23 decimals
    row = normalised("models-2026-08-19.json").prices.filter(
        pl.col("id") == "google/gemini-3.7-flash"
    ).row(0, named=True)
    assert str(row["input_cache_write"].normalize()) == "2.08333333333333E-8"
    assert row["input_cache_write"] == Decimal("0.0000000208333333333333")


def test_variable_price_routers_are_flagged(snapshot_name: str) -> None:
    records = records_of(load_payload(snapshot_name))
    expected = {r["id"] for r in records if r["pricing"]["prompt"] == "-1"}
    prices = normalised(snapshot_name).prices
    variable = prices.filter(pl.col("is_variable"))
    assert set(variable["id"]) == expected
    assert "openrouter/auto" in expected
    assert variable.select(pl.all_horizontal(pl.col(PRICE_DIMENSIONS).is_null())).to_series().all()
    assert not variable["is_free"].any()
    non_variable = prices.filter(~pl.col("is_variable")).select(PRICE_DIMENSIONS)
    assert non_variable.null_count().sum_horizontal().item() == 0
    assert (non_variable.min_horizontal() >= 0).all()


def test_2026_absent_zero_keys_read_as_zero() -> None:
    records = {r["id"]: r for r in records_of(load_payload("models-2026-08-19.json"))}
    assert set(records["openai/gpt-4o"]["pricing"]) >= {"prompt", "completion"}
    assert "request" not in records["openai/gpt-4o"]["pricing"]
    row = normalised("models-2026-08-19.json").prices.filter(pl.col("id") == "openai/gpt-4o")
    assert row["request"].item() == 0
    assert row["internal_reasoning"].item() == 0
    assert row["discount"].item() == 0


def test_same_prices_in_2025_and_2026_spelling_hash_alike() -> None:
    """2025-11 wrote zeros as "0"; 2026-02 omits them. Unchanged prices keep their hash."""
    old = {r["id"]: r for r in records_of(load_payload("models-2025-11-10.json"))}
    new = {r["id"]: r for r in records_of(load_payload("models-2026-02-27.json"))}

    def nonzero(pricing: dict) -> dict:
        return {k: Decimal(v) for k, v in pricing.items() if Decimal(v) != 0}

    same = [
        i
        for i in old.keys() & new.keys()
        if nonzero(old[i]["pricing"]) == nonzero(new[i]["pricing"])
        and old[i]["pricing"].keys() != new[i]["pricing"].keys()
    ]
    assert len(same) > 50
    h_old = dict(normalised("models-2025-11-10.json").prices.select("id", "price_hash").iter_rows())
    h_new = dict(normalised("models-2026-02-27.json").prices.select("id", "price_hash").iter_rows())
    assert all(h_old[i] == h_new[i] for i in same)


def test_overrides_kept_on_61_models_of_2026_08() -> None:
    for name in ("models-2026-08-19.json", "models-all-modalities-2026-08-19.json"):
        records = {r["id"]: r for r in records_of(load_payload(name))}
        prices = normalised(name).prices.filter(pl.col("overrides").is_not_null())
        assert prices.height == 61
        for model_id, overrides in prices.select("id", "overrides").iter_rows():
            assert orjson.loads(overrides) == records[model_id]["pricing"]["overrides"]
    tiers = orjson.loads(
        normalised("models-2026-08-19.json")
        .prices.filter(pl.col("id") == "deepseek/deepseek-v4-pro-0813")["overrides"]
        .item()
    )
    assert [(t["utc_start"], t["utc_end"]) for t in tiers] == [
        (1000, 100), (100, 400), (400, 600), (600, 1000)
    ]
    for name in ("models-2025-05-23.json", "models-2026-05-01-sorted-data-array.json"):
        assert normalised(name).prices["overrides"].null_count() == SNAPSHOTS[name]


def test_free_variants_share_canonical_slug_with_paid_model(snapshot_name: str) -> None:
    models = normalised(snapshot_name).models
    slug = dict(models.select("id", "canonical_slug").iter_rows())
    pairs = [(i, i.removesuffix(":free")) for i in slug if i.endswith(":free")]
    paired = [(free, paid) for free, paid in pairs if paid in slug]
    assert paired, "every snapshot has :free/paid pairs"
    assert all(slug[free] == slug[paid] for free, paid in paired)
    free_rows = models.filter(pl.col("variant") == "free")
    assert free_rows.height == len(pairs)
    assert (free_rows["base_id"] + ":free").to_list() == free_rows["id"].to_list()


def test_canonical_slug_falls_back_to_base_id_in_2025_05() -> None:
    models = normalised("models-2025-05-23.json").models
    assert models["canonical_slug_is_fallback"].all()
    assert models["canonical_slug"].to_list() == models["base_id"].to_list()
    later = normalised("models-2026-08-19.json").models
    assert not later["canonical_slug_is_fallback"].any()
    row = later.filter(pl.col("id") == "qwen/qwen3.8-27b")
    assert row["canonical_slug"].item() == "qwen/qwen3.8-27b-20260814"


def test_aliases_resolved() -> None:
    models = normalised("models-2026-08-19.json").models
    aliases = models.filter(pl.col("is_alias"))
    assert aliases.height == 11
    assert aliases["id"].str.starts_with("~").all()
    ids = set(models["id"])
    assert set(aliases["alias_target"]) <= ids  # every alias points at a listed model
    sonnet = aliases.filter(pl.col("id") == "~anthropic/claude-sonnet-latest").row(0, named=True)
    assert sonnet["alias_target"] == sonnet["resolved_id"] == "anthropic/claude-sonnet-5"
    assert sonnet["alias_target_name"] == "Anthropic: Claude Sonnet 5"
    assert sonnet["upstream_provider"] == "anthropic"
    assert sonnet["model_family"] == "claude-sonnet-5"
    target_family = dict(models.select("id", "model_family").iter_rows())
    for alias_id, target in aliases.select("id", "alias_target").iter_rows():
        assert target_family[alias_id] == target_family[target]
    plain = models.filter(~pl.col("is_alias"))
    assert plain["alias_target"].is_null().all()
    assert plain["resolved_id"].to_list() == plain["id"].to_list()


def test_upstream_provider_and_family_are_set(snapshot_name: str) -> None:
    models = normalised(snapshot_name).models
    assert models["upstream_provider"].null_count() == 0
    assert models["model_family"].null_count() == 0
    expected = [i.removeprefix("~").split("/")[0] for i in models["id"]]
    assert models["upstream_provider"].to_list() == expected


def test_variants_seen() -> None:
    seen: set[str] = set()
    for name in SNAPSHOTS:
        seen |= set(normalised(name).models["variant"].drop_nulls())
    assert seen == {"free", "thinking", "beta", "extended", "exacto", "batch"}
    batch = normalised("models-2026-08-19.json").models.filter(pl.col("variant") == "batch")
    assert batch.height == 61


def test_modalities_and_limits() -> None:
    models = normalised("models-all-modalities-2026-08-19.json").models
    outputs = set(models["output_modalities"].explode().drop_nulls())
    assert outputs == {
        "text", "image", "audio", "embeddings", "transcription", "speech", "video", "rerank"
    }
    auto = models.filter(pl.col("id") == "openrouter/auto").row(0, named=True)
    assert auto["context_length"] == 2_000_000
    assert auto["top_provider_context_length"] is None
    old = normalised("models-2025-05-23.json").models
    assert old["max_completion_tokens"].null_count() == 123
    assert normalised("models-2026-08-19.json").models["max_completion_tokens"].null_count() == 48
    differ = normalised("models-2026-08-19.json").models.filter(
        pl.col("context_length") != pl.col("top_provider_context_length")
    )
    assert differ.height == 35


def test_capability_flags_match_supported_parameters(snapshot_name: str) -> None:
    records = records_of(load_payload(snapshot_name))
    models = normalised(snapshot_name).models
    for record, row in zip(records, models.iter_rows(named=True), strict=True):
        params = set(record.get("supported_parameters") or [])
        assert row["supports_tools"] == bool(params & {"tools", "tool_choice"})
        assert row["supports_json"] == bool(params & {"response_format", "structured_outputs"})
        assert row["supports_structured_outputs"] == ("structured_outputs" in params)
        assert row["supports_reasoning"] == (
            bool(params & {"reasoning", "include_reasoning"})
            or isinstance(record.get("reasoning"), dict)
        )
        assert row["supported_parameters"] == record.get("supported_parameters")


def test_reasoning_object_2026_08() -> None:
    models = normalised("models-2026-08-19.json").models
    row = models.filter(pl.col("id") == "qwen/qwen3.8-27b").row(0, named=True)
    assert row["reasoning_mandatory"] is False
    assert row["reasoning_default_enabled"] is True
    assert row["reasoning_efforts"] == ["xhigh", "medium", "low"]
    assert row["reasoning_default_effort"] == "xhigh"
    assert models["reasoning_mandatory"].is_not_null().sum() == 284
    # a reasoning object without the "reasoning" parameter still means reasoning support
    reka = models.filter(pl.col("id") == "rekaai/reka-edge").row(0, named=True)
    assert "reasoning" not in reka["supported_parameters"] and reka["supports_reasoning"]


def test_dates_and_created() -> None:
    models = normalised("models-2026-08-19.json").models
    assert models["created"].dtype == pl.Datetime("us", "UTC")
    records = records_of(load_payload("models-2026-08-19.json"))
    first = dt.datetime.fromtimestamp(records[0]["created"], dt.UTC)
    assert models["created"].to_list()[0] == first
    newest = models["created"].max()
    assert newest.tzinfo is not None and newest.utcoffset() == dt.timedelta(0)
    assert newest.strftime("%Y-%m-%dT%H:%M") == "2026-08-14T15:55"  # SOURCES.md
    assert models["knowledge_cutoff"].is_not_null().sum() == 194
    assert models["expiration_date"].is_not_null().sum() == 4
    assert dt.date(2098, 12, 31) in models["expiration_date"].to_list()
    assert normalised("models-2026-05-01-sorted-data-array.json").models[
        "knowledge_cutoff"
    ].is_not_null().sum() == 214


def test_hugging_face_id_empty_string_is_null(snapshot_name: str) -> None:
    records = records_of(load_payload(snapshot_name))
    hf = normalised(snapshot_name).models["hugging_face_id"].to_list()
    for record, value in zip(records, hf, strict=True):
        assert value == (record.get("hugging_face_id") or None)
    assert "" not in hf


def test_benchmarks_and_quality_score() -> None:
    payload = load_payload("models-all-modalities-2026-08-19.json")
    records = {r["id"]: r for r in records_of(payload)}
    models = normalised("models-all-modalities-2026-08-19.json").models
    assert models["benchmarks"].is_not_null().sum() == 235
    for model_id, bench, quality, elo in models.select(
        "id", "benchmarks", "quality_score", "design_arena_elo"
    ).iter_rows():
        source = records[model_id].get("benchmarks")
        if source is None:
            assert bench is None and quality is None and elo is None
            continue
        assert orjson.loads(bench) == source
        aa = source.get("artificial_analysis") or {}
        assert quality == aa.get("intelligence_index")
        elos = [e["elo"] for e in source["design_arena"]]
        assert elo == (sum(elos) / len(elos) if elos else None)
    assert models["quality_score"].is_not_null().sum() == 141


def test_descriptions_and_names_kept(snapshot_name: str) -> None:
    records = records_of(load_payload(snapshot_name))
    models = normalised(snapshot_name).models
    assert models["description"].to_list() == [r["description"] for r in records]
    assert models["name"].to_list() == [r["name"] for r in records]


def synthetic_catalog(size: int) -> list[dict]:
    """The all-modalities snapshot replicated with renamed ids (variants kept as suffixes)."""
    source = records_of(load_payload("models-all-modalities-2026-08-19.json"))
    records: list[dict] = []
    copy_no = 0
    while len(records) < size:
        for record in source[: size - len(records)]:
            base, sep, variant = record["id"].partition(":")
            records.append({**record, "id": f"{base}-syn{copy_no}{sep}{variant}"})
        copy_no += 1
    return records


def test_synthetic_10k_catalog_normalises() -> None:
    """Correctness at size; its timing is measured outside the test suite (not a timed test)."""
    records = synthetic_catalog(10_000)
    catalog = normalise_catalog({"data": records})
    assert catalog.models.height == catalog.prices.height == 10_000
    assert catalog.models["id"].n_unique() == 10_000
    assert catalog.models["model_family"].null_count() == 0
    variable = sum(1 for r in records if r["pricing"]["prompt"] == "-1")
    assert catalog.prices["is_variable"].sum() == variable > 0
