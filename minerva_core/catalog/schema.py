"""The shapes of the normalised catalog: known source fields and the output column dtypes.

Prices are exact decimals: ``pl.Decimal(38, 30)`` (``PRICE_DTYPE``). The real snapshots hold
price strings with up to 23 decimals (``"0.00000008333333333333334"`` in 2026-02 and 2026-05,
float artefacts of the API), so 22 is not enough; 30 decimals leave 8 integer digits (prices
below $100,000,000 per unit). polars keeps such decimals exactly: ``Decimal(s) == value`` for
every price string of every snapshot, and ``.to_list()`` yields ``decimal.Decimal``. A price
with more than 30 decimals or 8 integer digits is refused (``CatalogPriceError``), never
rounded.
"""

from __future__ import annotations

import polars as pl

PRICE_SCALE = 30
PRICE_PRECISION = 38
PRICE_DTYPE = pl.Decimal(PRICE_PRECISION, PRICE_SCALE)
MAX_PRICE_INTEGER_DIGITS = PRICE_PRECISION - PRICE_SCALE

# Every price dimension, in output order. All are decimal strings at the source except
# `discount`, a JSON number (a fraction: price * (1 - discount)).
PRICE_DIMENSIONS: tuple[str, ...] = (
    "prompt",
    "completion",
    "request",
    "image",
    "image_output",
    "image_token",
    "web_search",
    "internal_reasoning",
    "input_cache_read",
    "input_cache_write",
    "input_cache_write_1h",
    "input_audio_cache",
    "audio",
    "audio_output",
    "discount",
)
# Always present at the source; their absence is an error, never a zero.
REQUIRED_PRICE_DIMENSIONS: tuple[str, ...] = ("prompt", "completion")

KNOWN_TOP_LEVEL_KEYS = frozenset(
    {
        "id",
        "canonical_slug",
        "alias_target",
        "hugging_face_id",
        "name",
        "created",
        "description",
        "context_length",
        "architecture",
        "pricing",
        "top_provider",
        "per_request_limits",
        "supported_parameters",
        "default_parameters",
        "supported_voices",
        "knowledge_cutoff",
        "expiration_date",
        "links",
        "benchmarks",
        "reasoning",
    }
)
# Objects whose keys we read one by one; a key outside these sets is reported as
# "<object>.<key>". (default_parameters and per_request_limits are kept whole as JSON.)
KNOWN_NESTED_KEYS: dict[str, frozenset[str]] = {
    "architecture": frozenset(
        {"modality", "input_modalities", "output_modalities", "tokenizer", "instruct_type"}
    ),
    "top_provider": frozenset({"context_length", "max_completion_tokens", "is_moderated"}),
    "pricing": frozenset({*PRICE_DIMENSIONS, "overrides"}),
    "reasoning": frozenset(
        {
            "mandatory",
            "default_enabled",
            "supported_efforts",
            "default_effort",
            "supports_max_tokens",
        }
    ),
    "alias_target": frozenset({"slug", "name"}),
    "benchmarks": frozenset({"design_arena", "artificial_analysis"}),
    "links": frozenset({"details"}),
}
KNOWN_ENVELOPE_KEYS = frozenset({"data", "total_count", "links"})

_STR_LIST = pl.List(pl.String)

MODELS_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "base_id": pl.String(),
    "variant": pl.String(),
    "is_alias": pl.Boolean(),
    "alias_target": pl.String(),
    "alias_target_name": pl.String(),
    "resolved_id": pl.String(),
    "canonical_slug": pl.String(),
    "canonical_slug_is_fallback": pl.Boolean(),
    "upstream_provider": pl.String(),
    "model_family": pl.String(),
    "name": pl.String(),
    "description": pl.String(),
    "hugging_face_id": pl.String(),
    "created": pl.Datetime("us", "UTC"),
    "context_length": pl.Int64(),
    "top_provider_context_length": pl.Int64(),
    "max_completion_tokens": pl.Int64(),
    "is_moderated": pl.Boolean(),
    "modality": pl.String(),
    "input_modalities": _STR_LIST,
    "output_modalities": _STR_LIST,
    "tokenizer": pl.String(),
    "instruct_type": pl.String(),
    "supported_parameters": _STR_LIST,
    "supports_tools": pl.Boolean(),
    "supports_tool_choice": pl.Boolean(),
    "supports_json": pl.Boolean(),
    "supports_structured_outputs": pl.Boolean(),
    "supports_reasoning": pl.Boolean(),
    "supports_web_search": pl.Boolean(),
    "reasoning_mandatory": pl.Boolean(),
    "reasoning_default_enabled": pl.Boolean(),
    "reasoning_efforts": _STR_LIST,
    "reasoning_default_effort": pl.String(),
    "reasoning_supports_max_tokens": pl.Boolean(),
    "default_parameters": pl.String(),
    "per_request_limits": pl.String(),
    "supported_voices": _STR_LIST,
    "knowledge_cutoff": pl.Date(),
    "expiration_date": pl.Date(),
    "links_details": pl.String(),
    "benchmarks": pl.String(),
    "aa_intelligence_index": pl.Float64(),
    "aa_coding_index": pl.Float64(),
    "aa_agentic_index": pl.Float64(),
    "design_arena_elo": pl.Float64(),
    "quality_score": pl.Float64(),
    "metadata_hash": pl.String(),
    "raw": pl.String(),
}

PRICES_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "is_variable": pl.Boolean(),
    "is_free": pl.Boolean(),
    **{dim: PRICE_DTYPE for dim in PRICE_DIMENSIONS},
    "overrides": pl.String(),
    "price_hash": pl.String(),
}
