"""Routing records: plain dicts -> ``RoutableModel`` (``model_from_record``, what
``Catalog.from_records`` uses) and raw OpenRouter ``/models`` entries -> plain dicts. Pure.

``Catalog.from_records`` takes the shape the proxy loads from the database (see its
docstring). This module makes that shape from an OpenRouter ``/models`` payload, for tests,
benchmarks and the emulator; the database path derives the same fields in the catalog
normaliser. Rules:

* prices: decimal strings parsed with ``Decimal``; ``"-1"`` marks a variable-price router;
  an absent ``request`` price is 0 (2026 snapshots omit zero-valued keys).
* capabilities from ``supported_parameters``: ``tools`` -> tools; ``response_format`` or
  ``structured_outputs`` -> structured output; ``reasoning`` or ``include_reasoning`` ->
  reasoning.
* ``context_length``: the top level; ``max_completion_tokens``: ``top_provider``'s.
* quality: ``quality.quality_from_benchmarks``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from minerva_core.errors import CatalogPriceError, CatalogRecordError
from minerva_core.routing.model import RoutableModel
from minerva_core.routing.quality import quality_from_benchmarks
from minerva_core.routing.requirements import provider_slug


def _author(model_id: str) -> str:
    return model_id.lstrip("~").split("/", 1)[0].lower() if "/" in model_id else ""


def record_from_openrouter(model: Mapping[str, Any]) -> dict[str, Any]:
    """One routing record from one OpenRouter model object."""
    pricing = model.get("pricing") or {}
    arch = model.get("architecture") or {}
    top = model.get("top_provider") or {}
    params = frozenset(model.get("supported_parameters") or ())
    prompt, completion = pricing.get("prompt"), pricing.get("completion")
    variable = prompt == "-1" or completion == "-1"
    return {
        "id": model["id"],
        "canonical_slug": model.get("canonical_slug"),
        "upstream_provider": _author(model["id"]),
        "context_length": model.get("context_length"),
        "max_completion_tokens": top.get("max_completion_tokens"),
        "input_modalities": tuple(arch.get("input_modalities") or ("text",)),
        "output_modalities": tuple(arch.get("output_modalities") or ("text",)),
        "supported_parameters": tuple(sorted(params)),
        "supports_tools": "tools" in params,
        "supports_structured_output": bool(params & {"response_format", "structured_outputs"}),
        "supports_reasoning": bool(params & {"reasoning", "include_reasoning"}),
        "prompt_price": None if variable else prompt,
        "completion_price": None if variable else completion,
        "request_price": None if variable else pricing.get("request", "0"),
        "is_variable_price": variable,
        "quality_score": quality_from_benchmarks(model.get("benchmarks")),
        "status": "active",
        "expiration_date": model.get("expiration_date"),
    }


def records_from_openrouter(payload: Any) -> list[dict[str, Any]]:
    """Records of a whole ``/models`` body: ``{"data": [...]}`` or a bare array."""
    models: Iterable[Mapping[str, Any]] = (
        payload.get("data", ()) if isinstance(payload, Mapping) else payload
    )
    return [record_from_openrouter(m) for m in models]


def _decimal(value: Any, index: int, model_id: str, field: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise CatalogPriceError(
            f"{field} must be a decimal string or Decimal, not {type(value).__name__}",
            index=index, model_id=model_id, field=field,
        )
    try:
        price = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise CatalogPriceError(
            f"{field} is not a number: {value!r}", index=index, model_id=model_id, field=field
        ) from None
    if not price.is_finite() or (price < 0 and price != -1):
        raise CatalogPriceError(
            f"{field} must be >= 0 (or -1 for variable)", index=index, model_id=model_id,
            field=field,
        )
    return price


def _date(value: Any, index: int, model_id: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise CatalogRecordError(
            f"expiration_date is no date: {value!r}", index=index, model_id=model_id,
            field="expiration_date",
        ) from None


def model_from_record(rec: Mapping[str, Any], index: int = 0) -> RoutableModel:
    """One ``RoutableModel`` from a plain dict (see ``Catalog.from_records``)."""
    model_id = rec.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        raise CatalogRecordError("the record has no id", index=index, field="id")
    get = rec.get
    prices = {
        key: _decimal(get(f"{key}_price", get(key)), index, model_id, f"{key}_price")
        for key in ("prompt", "completion", "request")
    }
    variable = bool(get("is_variable_price")) or any(p == -1 for p in prices.values())
    if variable:
        prices = dict.fromkeys(prices)
    elif prices["request"] is None and prices["prompt"] is not None:
        prices["request"] = Decimal(0)  # zero-valued keys are omitted upstream
    params = frozenset(get("supported_parameters") or ())
    author = get("upstream_provider") or (
        model_id.lstrip("~").split("/", 1)[0] if "/" in model_id else ""
    )

    def flag(key: str, derived: bool) -> bool:
        value = get(key)
        return derived if value is None else bool(value)

    quality = get("quality_score")
    return RoutableModel(
        id=model_id,
        canonical_slug=get("canonical_slug"),
        upstream_provider=str(author).lower(),
        model_family=get("model_family"),
        context_length=get("context_length"),
        max_completion_tokens=get("max_completion_tokens"),
        input_modalities=frozenset(get("input_modalities") or ("text",)),
        output_modalities=frozenset(get("output_modalities") or ("text",)),
        supports_tools=flag("supports_tools", "tools" in params),
        supports_structured_output=flag(
            "supports_structured_output", bool(params & {"response_format", "structured_outputs"})
        ),
        supports_reasoning=flag(
            "supports_reasoning", bool(params & {"reasoning", "include_reasoning"})
        ),
        supported_parameters=params,
        prompt_price=prices["prompt"],
        completion_price=prices["completion"],
        request_price=prices["request"],
        is_variable_price=variable,
        quality_score=None if quality is None else float(quality),
        status=get("status") or "active",
        expiration_date=_date(get("expiration_date"), index, model_id),
        providers=frozenset(provider_slug(p) for p in get("providers") or ()),
        collects_data=get("collects_data"),
    )
