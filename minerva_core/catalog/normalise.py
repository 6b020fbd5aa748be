"""``normalise_catalog``: a /models body in, typed polars frames out. Pure.

Pipeline: ``parse.read_payload`` (envelope or bare array) -> ``records.extract_columns`` (one
Python pass: type guards, ``raw`` JSON, unknown keys, exact prices) -> polars for every
column-wise derivation below -> ``NormalisedCatalog``.

Derived columns of ``models`` (the source field is kept under its own name unless noted):

* ``base_id`` / ``variant``: the id without / the ``:suffix`` (``free``, ``thinking``,
  ``beta``, ``extended``, ``exacto``, ``batch``, ...), null when there is none.
* ``is_alias``: the id starts with ``~``; ``alias_target`` / ``alias_target_name`` from
  ``alias_target.slug`` / ``.name``; ``resolved_id`` is the alias target or else the id.
* ``canonical_slug``: as given; absent (2025-05) -> the base id, so a ``:free`` variant shares
  it with its paid model as the API itself does from 2025-11 on
  (``canonical_slug_is_fallback`` marks these).
* ``upstream_provider`` and ``model_family``: see ``families`` (the family of an alias is
  the family of its target).
* ``hugging_face_id``: ``""`` -> null. ``created``: Unix seconds -> UTC datetime.
  ``knowledge_cutoff`` / ``expiration_date``: ``YYYY-MM-DD`` -> date (``2098-12-31`` is
  the API's "no planned expiry" sentinel and is kept as that date).
* ``top_provider_context_length``, ``max_completion_tokens``, ``is_moderated``: from
  ``top_provider`` (nullable).
* capability flags, from ``supported_parameters`` and the 2026-08 ``reasoning`` object:
  ``supports_tools`` (``tools`` or ``tool_choice``), ``supports_tool_choice``,
  ``supports_json`` (``response_format`` or ``structured_outputs``),
  ``supports_structured_outputs`` (``structured_outputs``), ``supports_reasoning``
  (``reasoning`` or ``include_reasoning``, or a ``reasoning`` object), ``supports_web_search``
  (``web_search_options``); ``reasoning_*`` copy the reasoning object (null without one).
* ``default_parameters``, ``per_request_limits``, ``benchmarks``: JSON strings.
* ``aa_*_index``: ``benchmarks.artificial_analysis``; ``design_arena_elo``: the mean ``elo``
  over all ``benchmarks.design_arena`` entries.
* ``quality_score``: the Artificial Analysis Intelligence Index (0-100, an absolute scale that
  is comparable across models and snapshots); null when absent. Design Arena elo is *not*
  blended in: it is relative to each arena's pool and has no fixed mapping onto the AA
  scale, so it stays a separate column for callers that want it.
* ``metadata_hash``: SHA-256 of the record without ``pricing`` and without null-valued
  top-level keys, keys sorted: changes to it are metadata changes (new null keys such as
  2026-02's ``expiration_date: null`` are not).
* ``raw``: the complete original record as JSON; ``orjson.loads(raw) == record``.

``prices`` is described in ``prices``. Unknown keys are listed, never fatal: top-level ones by
name, unknown keys inside the objects read field by field as ``object.key`` (e.g.
``pricing.video``), envelope keys as ``envelope.key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import polars as pl

from minerva_core.catalog.families import (
    base_id_expr,
    model_family_series,
    upstream_provider_expr,
    variant_expr,
)
from minerva_core.catalog.parse import read_payload
from minerva_core.catalog.prices import build_prices_frame
from minerva_core.catalog.records import CatalogIssue, extract_columns
from minerva_core.catalog.schema import MODELS_SCHEMA

_STR_LIST = pl.List(pl.String)
_SOURCE_DTYPES: dict[str, pl.DataType] = {
    "created": pl.Int64(),
    "context_length": pl.Int64(),
    "top_provider_context_length": pl.Int64(),
    "max_completion_tokens": pl.Int64(),
    "is_moderated": pl.Boolean(),
    "input_modalities": _STR_LIST,
    "output_modalities": _STR_LIST,
    "supported_parameters": _STR_LIST,
    "has_reasoning_object": pl.Boolean(),
    "reasoning_mandatory": pl.Boolean(),
    "reasoning_default_enabled": pl.Boolean(),
    "reasoning_efforts": _STR_LIST,
    "reasoning_supports_max_tokens": pl.Boolean(),
    "supported_voices": _STR_LIST,
    "aa_intelligence_index": pl.Float64(),
    "aa_coding_index": pl.Float64(),
    "aa_agentic_index": pl.Float64(),
    "design_arena_elo": pl.Float64(),
}
_DATE_COLUMNS = ("knowledge_cutoff", "expiration_date")


@dataclass(frozen=True)
class NormalisedCatalog:
    """One /models catalog, normalised: one row per model in each frame, in source order."""

    models: pl.DataFrame
    prices: pl.DataFrame
    unknown_fields: tuple[str, ...] = ()
    unknown_field_counts: Mapping[str, int] = field(default_factory=dict)
    issues: tuple[CatalogIssue, ...] = ()
    shape: str = "envelope"
    total_count: int | None = None
    next_link: str | None = None

    def __len__(self) -> int:
        return self.models.height


def normalise_catalog(payload: Any) -> NormalisedCatalog:
    """Normalise a /models body: a parsed ``{"data": [...]}`` / bare list, or raw bytes.

    Raises ``CatalogFormatError`` for a payload of another shape and ``CatalogRecordError``
    (``CatalogPriceError``, ``DuplicateModelError``) naming the index of a record that cannot
    be normalised at all.
    """
    parsed = read_payload(payload)
    extracted = extract_columns(parsed.records)

    source = pl.DataFrame(
        extracted.models,
        schema={name: _SOURCE_DTYPES.get(name, pl.String()) for name in extracted.models},
    )
    models = _derive_models(source)
    issues = list(extracted.issues)
    issues.extend(_date_issues(source, models))
    prices = build_prices_frame(extracted.prices)

    counts = dict(extracted.unknown_field_counts)
    for key in parsed.unknown_envelope_keys:
        counts[f"envelope.{key}"] = 1
    return NormalisedCatalog(
        models=models,
        prices=prices,
        unknown_fields=tuple(sorted(counts)),
        unknown_field_counts=MappingProxyType(counts),
        issues=tuple(issues),
        shape=parsed.shape,
        total_count=parsed.total_count,
        next_link=parsed.next_link,
    )


def _has(param: str) -> pl.Expr:
    return pl.col("supported_parameters").list.contains(param).fill_null(False)


def _derive_models(source: pl.DataFrame) -> pl.DataFrame:
    frame = source.with_columns(
        base_id_expr("id").alias("base_id"),
        variant_expr("id").alias("variant"),
        pl.col("id").str.starts_with("~").alias("is_alias"),
        pl.coalesce("alias_target", "id").alias("resolved_id"),
        pl.col("canonical_slug").is_null().alias("canonical_slug_is_fallback"),
        upstream_provider_expr("id").alias("upstream_provider"),
        pl.from_epoch("created", time_unit="s")
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .alias("created"),
        *(
            pl.col(name).str.to_date("%Y-%m-%d", strict=False, exact=True).alias(name)
            for name in _DATE_COLUMNS
        ),
        (_has("tools") | _has("tool_choice")).alias("supports_tools"),
        _has("tool_choice").alias("supports_tool_choice"),
        (_has("response_format") | _has("structured_outputs")).alias("supports_json"),
        _has("structured_outputs").alias("supports_structured_outputs"),
        (_has("reasoning") | _has("include_reasoning") | pl.col("has_reasoning_object")).alias(
            "supports_reasoning"
        ),
        _has("web_search_options").alias("supports_web_search"),
        pl.col("aa_intelligence_index").alias("quality_score"),
    ).with_columns(pl.coalesce("canonical_slug", "base_id").alias("canonical_slug"))
    frame = frame.with_columns(model_family_series(frame["resolved_id"]).alias("model_family"))
    return frame.select(pl.col(name).cast(dtype) for name, dtype in MODELS_SCHEMA.items())


def _date_issues(source: pl.DataFrame, models: pl.DataFrame) -> list[CatalogIssue]:
    issues: list[CatalogIssue] = []
    for name in _DATE_COLUMNS:
        bad = pl.DataFrame(
            {"i": pl.int_range(source.height, eager=True), "id": source["id"],
             "text": source[name], "date": models[name]}
        ).filter(pl.col("text").is_not_null() & pl.col("date").is_null())
        for i, model_id, text in bad.select("i", "id", "text").iter_rows():
            issues.append(
                CatalogIssue(i, model_id, name, f"expected a YYYY-MM-DD date, got {text!r}")
            )
    return issues
