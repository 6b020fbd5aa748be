"""The model browser (GET models/discover): query parameters in, a page of models out.

Prices are decimal strings, never floats: per token as stored, and per million tokens for
prompt and completion. Other price dimensions (request, image, web_search, cache, ...) are
listed in ``other`` in their own unit, as upstream defines it, when they are not zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, Field

from minerva_core.catalog_queries import (
    CAPABILITIES,
    PRICE_DIMENSIONS,
    SORT_KEYS,
    STATUSES,
    Cursor,
    ModelFilter,
    PageRequest,
    per_million_to_per_token,
    per_token_to_per_million,
)
from minerva_core.errors import InvalidParameterError

QUERY_PARAMETERS = frozenset({
    "q", "provider", "family", "modality", "capability", "min_context", "max_prompt_price",
    "max_completion_price", "status", "free_only", "sort", "order", "limit", "offset", "cursor",
})
_WORD = re.compile(r"^[a-z0-9][a-z0-9_.:~-]{0,99}$")
_MAX_PRICE = Decimal(1_000_000)  # USD per million tokens


def _values(raw: Iterable[str]) -> list[str]:
    """Repeated and comma-separated values alike: ?provider=a&provider=b,c -> [a, b, c]."""
    return [part.strip() for value in raw for part in value.split(",") if part.strip()]


def _words(raw: Iterable[str], param: str, allowed: Iterable[str] | None = None) -> tuple[str, ...]:
    values = [v.lower() for v in _values(raw)]
    allowed = tuple(allowed) if allowed is not None else None
    for value in values:
        if allowed is not None and value not in allowed:
            raise InvalidParameterError(f"{param} must be one of {', '.join(allowed)}", param=param)
        if not _WORD.match(value):
            raise InvalidParameterError(f"{param} values are lower-case names such as 'openai'", param=param)
    return tuple(dict.fromkeys(values))


def _price(raw: str | None, param: str) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value > _MAX_PRICE:
        raise InvalidParameterError(
            f"{param} must be a non-negative decimal string in USD per million tokens, e.g. 2.5",
            param=param,
        )
    return per_million_to_per_token(value)


def build_filter(
    *, q: str | None, provider: list[str], family: list[str], modality: list[str], capability: list[str],
    min_context: int | None, max_prompt_price: str | None, max_completion_price: str | None,
    status: list[str], free_only: bool,
) -> ModelFilter:
    statuses = _words(status, "status", (*STATUSES, "all")) or ("active",)
    return ModelFilter(
        q=(q or "").strip() or None,
        providers=_words(provider, "provider"),
        families=_words(family, "family"),
        modalities=_words(modality, "modality"),
        capabilities=_words(capability, "capability", CAPABILITIES),
        min_context=min_context,
        max_prompt_price=_price(max_prompt_price, "max_prompt_price"),
        max_completion_price=_price(max_completion_price, "max_completion_price"),
        statuses=() if "all" in statuses else statuses,
        free_only=free_only,
    )


def build_page(*, sort: str, order: str, limit: int, offset: int, cursor: str | None) -> PageRequest:
    if sort not in SORT_KEYS:
        raise InvalidParameterError(f"sort must be one of {', '.join(SORT_KEYS)}", param="sort")
    return PageRequest(
        sort=sort, descending=order == "desc", limit=limit, offset=offset,
        cursor=Cursor.decode(cursor) if cursor else None,
    )


def refuse_unknown(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - QUERY_PARAMETERS)
    if unknown:
        raise InvalidParameterError(
            f"unknown query parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(QUERY_PARAMETERS))}",
            param=unknown[0],
        )


class PriceView(BaseModel):
    is_variable: bool = Field(description="priced per request by upstream ('-1'): no fixed price")
    is_free: bool
    prompt_per_token: str | None
    completion_per_token: str | None
    prompt_per_million: str | None
    completion_per_million: str | None
    other: dict[str, str] = Field(description="non-zero other dimensions, per token or per unit")
    discount: str | None
    has_overrides: bool
    valid_from: datetime | None


class Capabilities(BaseModel):
    tools: bool
    tool_choice: bool
    structured_output: bool
    reasoning: bool
    vision: bool
    audio: bool


class ModelView(BaseModel):
    id: str
    name: str
    canonical_slug: str | None
    upstream_provider: str
    model_family: str | None
    description: str | None
    context_length: int | None
    max_completion_tokens: int | None
    input_modalities: list[str]
    output_modalities: list[str]
    capabilities: Capabilities
    variant: str | None
    alias_target: str | None
    quality_score: str | None
    status: str
    disabled_by_admin: bool
    disabled_reason: str | None
    deprecated_at: datetime | None
    created: datetime | None
    knowledge_cutoff: date | None
    first_seen_at: datetime
    last_seen_at: datetime
    pricing: PriceView | None


class ModelPage(BaseModel):
    object: str = "list"
    data: list[ModelView]
    total: int = Field(description="models matching the filters, over all pages")
    limit: int
    offset: int
    sort: str
    order: str
    next_cursor: str | None
    next_offset: int | None


def _money(value: Decimal | None) -> str | None:
    """Exact, without exponent or trailing zeros: 0.000000075000 -> "0.000000075"."""
    return None if value is None else format(value.normalize(), "f")


def _price_view(row: dict[str, Any]) -> PriceView | None:
    if row["price_valid_from"] is None:
        return None
    prompt, completion = row["price_prompt"], row["price_completion"]
    others = {d: row[f"price_{d}"] for d in PRICE_DIMENSIONS if d not in ("prompt", "completion")}
    overrides = row["price_overrides"] or []
    free = (not row["price_is_variable"] and not overrides
            and all(not v for v in (prompt, completion, *others.values())))
    return PriceView(
        is_variable=row["price_is_variable"], is_free=free,
        prompt_per_token=_money(prompt), completion_per_token=_money(completion),
        prompt_per_million=_money(None if prompt is None else per_token_to_per_million(prompt)),
        completion_per_million=_money(None if completion is None else per_token_to_per_million(completion)),
        other={d: _money(v) for d, v in others.items() if v},
        discount=_money(row["price_discount"]), has_overrides=bool(overrides),
        valid_from=row["price_valid_from"],
    )


def model_view(row: dict[str, Any]) -> ModelView:
    return ModelView(
        id=row["id"], name=row["name"], canonical_slug=row["canonical_slug"],
        upstream_provider=row["upstream_provider"], model_family=row["model_family"],
        description=row["description"], context_length=row["context_length"],
        max_completion_tokens=row["max_completion_tokens"],
        input_modalities=row["input_modalities"] or [], output_modalities=row["output_modalities"] or [],
        capabilities=Capabilities(
            tools=row["supports_tools"], tool_choice=row["supports_tool_choice"],
            structured_output=row["supports_structured_output"], reasoning=row["supports_reasoning"],
            vision=row["supports_vision"], audio=row["supports_audio_input"],
        ),
        variant=row["variant"], alias_target=row["alias_target"],
        quality_score=_money(row["quality_score"]), status=row["status"],
        disabled_by_admin=row["disabled_by_admin"], disabled_reason=row["disabled_reason"],
        deprecated_at=row["deprecated_at"], created=row["upstream_created_at"],
        knowledge_cutoff=row["knowledge_cutoff"], first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"], pricing=_price_view(row),
    )
