"""One pass over the raw model records: pull each field out into typed columns. Pure.

This is the only per-record Python in the normaliser. It does what polars cannot do without
a fixed schema (the source keeps growing new keys): type-check each value, keep the whole
record as JSON (``raw``), list unknown keys, read the prices exactly and hash the metadata.
Every derivation that works on whole columns (ids, dates, flags, decimals) is done later in
polars, in ``normalise``.

A value of the wrong type never stops the run: it becomes null and a ``CatalogIssue``. Only
a record without an id, a duplicated id, or an unreadable/missing price raise.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from minerva_core.catalog.prices import (
    VARIABLE,
    PriceValueError,
    canonical_overrides,
    read_price_value,
)
from minerva_core.catalog.schema import (
    KNOWN_NESTED_KEYS,
    KNOWN_TOP_LEVEL_KEYS,
    PRICE_DIMENSIONS,
    REQUIRED_PRICE_DIMENSIONS,
)
from minerva_core.errors import CatalogPriceError, CatalogRecordError, DuplicateModelError

_PRICE_KEYS = frozenset(PRICE_DIMENSIONS)
OVERRIDE_CONDITION_KEYS = frozenset({"min_prompt_tokens", "utc_start", "utc_end"})
_EMPTY: dict[str, Any] = {}


@dataclass(frozen=True)
class CatalogIssue:
    """A value that could not be read as documented; it was set to null (``raw`` keeps it)."""

    index: int
    model_id: str
    field: str
    message: str


# Columns filled here, in order; the value lists are aligned with the records.
MODEL_SOURCE_COLUMNS = (
    "id",
    "canonical_slug",
    "alias_target",
    "alias_target_name",
    "hugging_face_id",
    "name",
    "description",
    "created",
    "context_length",
    "top_provider_context_length",
    "max_completion_tokens",
    "is_moderated",
    "modality",
    "input_modalities",
    "output_modalities",
    "tokenizer",
    "instruct_type",
    "supported_parameters",
    "has_reasoning_object",
    "reasoning_mandatory",
    "reasoning_default_enabled",
    "reasoning_efforts",
    "reasoning_default_effort",
    "reasoning_supports_max_tokens",
    "default_parameters",
    "per_request_limits",
    "supported_voices",
    "knowledge_cutoff",
    "expiration_date",
    "links_details",
    "benchmarks",
    "aa_intelligence_index",
    "aa_coding_index",
    "aa_agentic_index",
    "design_arena_elo",
    "metadata_hash",
    "raw",
)


@dataclass
class ExtractedColumns:
    models: dict[str, list[Any]]
    prices: dict[str, list[Any]]
    unknown_field_counts: Counter[str]
    issues: list[CatalogIssue]


class _Reader:
    """Type guards that turn a bad value into None plus an issue."""

    def __init__(self) -> None:
        self.issues: list[CatalogIssue] = []
        self.index = 0
        self.model_id = ""

    def _issue(self, field: str, value: Any, expected: str) -> None:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        self.issues.append(
            CatalogIssue(self.index, self.model_id, field, f"expected {expected}, got {shown}")
        )

    def str_(self, value: Any, field: str) -> str | None:
        if value is None or type(value) is str:
            return value
        self._issue(field, value, "a string")
        return None

    def int_(self, value: Any, field: str) -> int | None:
        if value is None or type(value) is int:
            return value
        if type(value) is float and value.is_integer():
            return int(value)
        if type(value) is str and value.strip().isdigit():
            return int(value)
        self._issue(field, value, "an integer")
        return None

    def float_(self, value: Any, field: str) -> float | None:
        if value is None or type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        self._issue(field, value, "a number")
        return None

    def bool_(self, value: Any, field: str) -> bool | None:
        if value is None or type(value) is bool:
            return value
        self._issue(field, value, "a boolean")
        return None

    def str_list(self, value: Any, field: str) -> list[str] | None:
        if value is None:
            return None
        if type(value) is list and all(type(v) is str for v in value):
            return value
        self._issue(field, value, "a list of strings")
        return None

    def obj(self, value: Any, field: str) -> dict[str, Any]:
        if type(value) is dict:
            return value
        if value is not None:
            self._issue(field, value, "an object")
        return _EMPTY


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def extract_columns(records: Any) -> ExtractedColumns:
    """Read every record into aligned column lists. Raises CatalogRecordError subclasses."""
    n = len(records)
    models: dict[str, list[Any]] = {name: [None] * n for name in MODEL_SOURCE_COLUMNS}
    prices: dict[str, list[Any]] = {
        "id": [None] * n,
        "is_variable": [False] * n,
        **{dim: [None] * n for dim in PRICE_DIMENSIONS},
        "overrides": [None] * n,
        "_overrides_canon": [None] * n,
    }
    unknown: Counter[str] = Counter()
    reader = _Reader()
    seen: dict[str, int] = {}
    known_top = KNOWN_TOP_LEVEL_KEYS
    nested = KNOWN_NESTED_KEYS
    m = models  # local alias: this loop is the hot path

    for i, rec in enumerate(records):
        if type(rec) is not dict:
            raise CatalogRecordError(
                f"a model record must be an object, not {type(rec).__name__}", index=i
            )
        model_id = rec.get("id")
        if type(model_id) is not str or not model_id.strip():
            raise CatalogRecordError("the record has no id", index=i, field="id")
        if model_id in seen:
            raise DuplicateModelError(
                f"id also used by record #{seen[model_id]}", index=i, model_id=model_id, field="id"
            )
        seen[model_id] = i
        reader.index, reader.model_id = i, model_id

        try:
            raw = orjson.dumps(rec)
            meta = {k: v for k, v in rec.items() if k != "pricing" and v is not None}
            meta_json = orjson.dumps(meta, option=orjson.OPT_SORT_KEYS)
        except TypeError as exc:  # non-JSON values, e.g. Decimal from parse_float=Decimal
            raise CatalogRecordError(
                f"the record is not plain JSON: {exc}", index=i, model_id=model_id
            ) from exc

        if not known_top.issuperset(rec):
            unknown.update(k for k in rec if k not in known_top)

        arch = reader.obj(rec.get("architecture"), "architecture")
        top = reader.obj(rec.get("top_provider"), "top_provider")
        reasoning_raw = rec.get("reasoning")
        reasoning = reader.obj(reasoning_raw, "reasoning")
        alias = reader.obj(rec.get("alias_target"), "alias_target")
        links = reader.obj(rec.get("links"), "links")
        bench_raw = rec.get("benchmarks")
        bench = reader.obj(bench_raw, "benchmarks")
        for obj_name, obj in (
            ("architecture", arch),
            ("top_provider", top),
            ("reasoning", reasoning),
            ("alias_target", alias),
            ("links", links),
            ("benchmarks", bench),
        ):
            if obj and not nested[obj_name].issuperset(obj):
                unknown.update(f"{obj_name}.{k}" for k in obj if k not in nested[obj_name])

        m["id"][i] = model_id
        m["canonical_slug"][i] = reader.str_(rec.get("canonical_slug"), "canonical_slug")
        m["alias_target"][i] = reader.str_(alias.get("slug"), "alias_target.slug")
        m["alias_target_name"][i] = reader.str_(alias.get("name"), "alias_target.name")
        m["hugging_face_id"][i] = reader.str_(rec.get("hugging_face_id"), "hugging_face_id") or None
        m["name"][i] = reader.str_(rec.get("name"), "name")
        m["description"][i] = reader.str_(rec.get("description"), "description")
        m["created"][i] = reader.int_(rec.get("created"), "created")
        m["context_length"][i] = reader.int_(rec.get("context_length"), "context_length")
        m["top_provider_context_length"][i] = reader.int_(
            top.get("context_length"), "top_provider.context_length"
        )
        m["max_completion_tokens"][i] = reader.int_(
            top.get("max_completion_tokens"), "top_provider.max_completion_tokens"
        )
        m["is_moderated"][i] = reader.bool_(top.get("is_moderated"), "top_provider.is_moderated")
        m["modality"][i] = reader.str_(arch.get("modality"), "architecture.modality")
        m["input_modalities"][i] = reader.str_list(
            arch.get("input_modalities"), "architecture.input_modalities"
        )
        m["output_modalities"][i] = reader.str_list(
            arch.get("output_modalities"), "architecture.output_modalities"
        )
        m["tokenizer"][i] = reader.str_(arch.get("tokenizer"), "architecture.tokenizer")
        m["instruct_type"][i] = reader.str_(arch.get("instruct_type"), "architecture.instruct_type")
        m["supported_parameters"][i] = reader.str_list(
            rec.get("supported_parameters"), "supported_parameters"
        )
        m["has_reasoning_object"][i] = type(reasoning_raw) is dict
        if reasoning:
            m["reasoning_mandatory"][i] = reader.bool_(
                reasoning.get("mandatory"), "reasoning.mandatory"
            )
            m["reasoning_default_enabled"][i] = reader.bool_(
                reasoning.get("default_enabled"), "reasoning.default_enabled"
            )
            m["reasoning_efforts"][i] = reader.str_list(
                reasoning.get("supported_efforts"), "reasoning.supported_efforts"
            )
            m["reasoning_default_effort"][i] = reader.str_(
                reasoning.get("default_effort"), "reasoning.default_effort"
            )
            m["reasoning_supports_max_tokens"][i] = reader.bool_(
                reasoning.get("supports_max_tokens"), "reasoning.supports_max_tokens"
            )
        m["default_parameters"][i] = _json(rec.get("default_parameters"))
        m["per_request_limits"][i] = _json(rec.get("per_request_limits"))
        m["supported_voices"][i] = reader.str_list(rec.get("supported_voices"), "supported_voices")
        m["knowledge_cutoff"][i] = reader.str_(rec.get("knowledge_cutoff"), "knowledge_cutoff")
        m["expiration_date"][i] = reader.str_(rec.get("expiration_date"), "expiration_date")
        m["links_details"][i] = reader.str_(links.get("details"), "links.details")
        if bench_raw is not None:
            m["benchmarks"][i] = _json(bench_raw)
        if bench:
            aa_field = "benchmarks.artificial_analysis"
            aa = reader.obj(bench.get("artificial_analysis"), aa_field)
            if aa:
                for index_name in ("intelligence_index", "coding_index", "agentic_index"):
                    m[f"aa_{index_name}"][i] = reader.float_(
                        aa.get(index_name), f"{aa_field}.{index_name}"
                    )
            arena = bench.get("design_arena")
            if type(arena) is list:
                elos = [
                    float(e["elo"])
                    for e in arena
                    if type(e) is dict and type(e.get("elo")) in (int, float)
                ]
                m["design_arena_elo"][i] = _mean(elos)
        m["metadata_hash"][i] = hashlib.sha256(meta_json).hexdigest()
        m["raw"][i] = raw.decode()

        _extract_prices(rec.get("pricing"), i, model_id, prices, unknown)

    return ExtractedColumns(models, prices, unknown, reader.issues)


def _extract_prices(
    pricing: Any, i: int, model_id: str, cols: dict[str, list[Any]], unknown: Counter[str]
) -> None:
    cols["id"][i] = model_id
    if type(pricing) is not dict:
        raise CatalogPriceError(
            "the record has no pricing object", index=i, model_id=model_id, field="pricing"
        )
    for dim in REQUIRED_PRICE_DIMENSIONS:
        if pricing.get(dim) is None:
            raise CatalogPriceError(
                f"pricing.{dim} is absent", index=i, model_id=model_id, field=f"pricing.{dim}"
            )
    for key, value in pricing.items():
        if key in _PRICE_KEYS:
            if value is None:
                continue
            try:
                plain = read_price_value(value)
            except PriceValueError as exc:
                raise CatalogPriceError(
                    f"pricing.{key}: {exc}", index=i, model_id=model_id, field=f"pricing.{key}"
                ) from None
            if plain is VARIABLE:
                cols["is_variable"][i] = True
            else:
                cols[key][i] = plain
        elif key == "overrides":
            if value is None:
                continue
            if type(value) is not list or not all(type(o) is dict for o in value):
                raise CatalogPriceError(
                    "pricing.overrides must be a list of objects",
                    index=i,
                    model_id=model_id,
                    field="pricing.overrides",
                )
            for n, tier in enumerate(value):
                for tkey, tvalue in tier.items():
                    if tkey not in _PRICE_KEYS:
                        if tkey not in OVERRIDE_CONDITION_KEYS:
                            unknown[f"pricing.overrides.{tkey}"] += 1
                    else:
                        try:
                            if read_price_value(tvalue) is VARIABLE:
                                raise PriceValueError("-1 is not allowed in an override")
                        except PriceValueError as exc:
                            raise CatalogPriceError(
                                f"pricing.overrides[{n}].{tkey}: {exc}",
                                index=i,
                                model_id=model_id,
                                field="pricing.overrides",
                            ) from None
            cols["overrides"][i] = orjson.dumps(value).decode()
            cols["_overrides_canon"][i] = canonical_overrides(value)
        else:
            unknown[f"pricing.{key}"] += 1
