"""Strategies: the built-ins, reading a ``routing_strategies`` row, merging a strategy's
requirement overrides into a request. Pure.

Requirement override keys (the ``routing_strategies.requirements`` jsonb), prices in USD per
token like the catalog:

    supports_tools, supports_structured_output, supports_reasoning   (true = required)
    min_context_length (int), input_modalities (list), required_parameters (list)
    only / allowed_providers (list), ignore / ignored_providers (list)
    data_collection ("deny"), allow_variable_price (bool)
    max_prompt_price, max_completion_price, max_request_price, max_cost_usd (decimal)
    min_uptime (0..1)

An unknown key or a bad value raises ``InvalidStrategyError``: a typo in an admin's strategy
must not silently route around the filter it meant to add.
"""

from __future__ import annotations

from typing import Any, Mapping

from minerva_core.errors import InvalidStrategyError, RoutingRequestError
from minerva_core.routing.model import (
    NO_OVERRIDES,
    STRATEGY_KINDS,
    RequirementOverrides,
    Requirements,
    Strategy,
    Weights,
)
from minerva_core.routing.requirements import parse_amount, provider_slug

# The weights of the built-in kinds (custom brings its own); balanced matches the seed row.
KIND_WEIGHTS: dict[str, Weights] = {
    "cheapest": Weights(cost=1, latency=0, quality=0),
    "fastest": Weights(cost=0, latency=1, quality=0),
    "quality": Weights(cost=0, latency=0, quality=1),
    "balanced": Weights(cost=0.4, latency=0.3, quality=0.3),
}

BUILTIN_STRATEGIES: dict[str, Strategy] = {
    kind: Strategy(name=kind, kind=kind, weights=KIND_WEIGHTS[kind])  # type: ignore[arg-type]
    for kind in ("cheapest", "fastest", "balanced", "quality")
}

_BOOL_KEYS = {
    "supports_tools": "needs_tools",
    "supports_structured_output": "needs_structured_output",
    "supports_reasoning": "needs_reasoning",
    "allow_variable_price": "allow_variable_price",
}
_PRICE_KEYS = ("max_prompt_price", "max_completion_price", "max_request_price", "max_cost_usd")
_SET_KEYS = {
    "input_modalities": "input_modalities",
    "required_parameters": "required_parameters",
}
_PROVIDER_KEYS = {
    "only": "allowed_providers",
    "allowed_providers": "allowed_providers",
    "ignore": "ignored_providers",
    "ignored_providers": "ignored_providers",
}
OVERRIDE_KEYS = frozenset(
    {*_BOOL_KEYS, *_PRICE_KEYS, *_SET_KEYS, *_PROVIDER_KEYS, "min_context_length",
     "min_uptime", "data_collection"}
)


def _strings(value: Any, key: str) -> frozenset[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidStrategyError(f"requirements.{key} must be a list of strings")
    return frozenset(value)


def parse_overrides(raw: Mapping[str, Any] | None) -> RequirementOverrides:
    """A strategy's requirement overrides from their jsonb shape (see the module docstring)."""
    if not raw:
        return NO_OVERRIDES
    if not isinstance(raw, Mapping):
        raise InvalidStrategyError("requirements must be an object")
    unknown = sorted(set(raw) - OVERRIDE_KEYS)
    if unknown:
        raise InvalidStrategyError(f"unknown requirement keys: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise InvalidStrategyError(f"requirements.{key} must be true or false")
            values[_BOOL_KEYS[key]] = value
        elif key in _PRICE_KEYS:
            try:
                values[key] = parse_amount(value, f"requirements.{key}")
            except RoutingRequestError as exc:
                raise InvalidStrategyError(str(exc)) from None
        elif key in _SET_KEYS:
            values[_SET_KEYS[key]] = _strings(value, key)
        elif key in _PROVIDER_KEYS:
            values[_PROVIDER_KEYS[key]] = frozenset(provider_slug(v) for v in _strings(value, key))
        elif key == "min_context_length":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidStrategyError("requirements.min_context_length must be > 0")
            values[key] = value
        elif key == "min_uptime":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                0 <= value <= 1
            ):
                raise InvalidStrategyError("requirements.min_uptime must be in 0..1")
            values[key] = float(value)
        elif key == "data_collection":
            if value not in ("allow", "deny"):
                raise InvalidStrategyError('requirements.data_collection must be "allow" or "deny"')
            values["deny_data_collection"] = value == "deny"
    overrides = RequirementOverrides(**values)
    return NO_OVERRIDES if overrides == NO_OVERRIDES else overrides


def make_strategy(
    name: str,
    kind: str = "balanced",
    *,
    weights: Mapping[str, Any] | Weights | None = None,
    requirements: Mapping[str, Any] | RequirementOverrides | None = None,
    fallback_chain: Any = (),
    max_fallbacks: int = 2,
) -> Strategy:
    """A validated ``Strategy``. ``weights`` only matter for ``custom`` (the built-in kinds
    use ``KIND_WEIGHTS``) and must be non-negative with a positive sum."""
    if kind not in STRATEGY_KINDS:
        raise InvalidStrategyError(f"unknown strategy kind {kind!r}")
    if kind == "custom":
        if weights is None:
            raise InvalidStrategyError("a custom strategy needs weights")
        if isinstance(weights, Mapping):
            unknown = set(weights) - {"cost", "latency", "quality"}
            if unknown:
                raise InvalidStrategyError(f"unknown weight keys: {', '.join(sorted(unknown))}")
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in weights.values()):
                raise InvalidStrategyError("weights must be numbers")
            # A key left out weighs nothing: {"cost": 1} ranks by cost alone.
            weights = Weights(
                cost=float(weights.get("cost", 0)),
                latency=float(weights.get("latency", 0)),
                quality=float(weights.get("quality", 0)),
            )
        w = weights
        values = (w.cost, w.latency, w.quality)
        if any(v != v or v < 0 for v in values) or sum(values) <= 0:
            raise InvalidStrategyError("weights must be non-negative with a positive sum")
    else:
        weights = KIND_WEIGHTS[kind]
    if isinstance(requirements, RequirementOverrides):
        overrides = requirements
    else:
        overrides = parse_overrides(requirements)
    if isinstance(fallback_chain, str) or not all(isinstance(m, str) for m in fallback_chain):
        raise InvalidStrategyError("fallback_chain must be a list of model ids")
    if isinstance(max_fallbacks, bool) or not isinstance(max_fallbacks, int) or max_fallbacks < 0:
        raise InvalidStrategyError("max_fallbacks must be a non-negative integer")
    return Strategy(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        weights=weights,
        requirements=overrides,
        fallback_chain=tuple(dict.fromkeys(fallback_chain)),
        max_fallbacks=max_fallbacks,
    )


def strategy_from_record(row: Mapping[str, Any]) -> Strategy:
    """A ``routing_strategies`` row (name, kind, weights, requirements, fallback_chain and an
    optional max_fallbacks) as a validated ``Strategy``."""
    return make_strategy(
        row["name"],
        row.get("kind") or "balanced",
        weights=row.get("weights") or None,
        requirements=row.get("requirements") or None,
        fallback_chain=tuple(row.get("fallback_chain") or ()),
        max_fallbacks=row.get("max_fallbacks", 2),
    )


def strategy_weights(strategy: Strategy, kind: str | None = None) -> tuple[float, float, float]:
    """The normalised (cost, latency, quality) weights a ranking uses: a custom strategy's
    own, else those of the kind (``kind`` overrides the strategy's, for provider.sort)."""
    kind = kind or strategy.kind
    if kind == "custom":
        return strategy.weights.normalised()
    return KIND_WEIGHTS.get(kind, KIND_WEIGHTS["fastest"]).normalised()


def apply_overrides(req: Requirements, o: RequirementOverrides) -> Requirements:
    """``req`` with a strategy's overrides merged in, stricter wins (see RequirementOverrides).
    Written out field by field: ``dataclasses.replace`` costs several times more, per request."""
    if o is NO_OVERRIDES:
        return req

    def cap(a: Any, b: Any) -> Any:
        return b if a is None else a if b is None else min(a, b)

    def floor(a: Any, b: Any) -> Any:
        return b if a is None else a if b is None else max(a, b)

    allowed = req.allowed_providers
    if o.allowed_providers is not None:
        allowed = o.allowed_providers if allowed is None else allowed & o.allowed_providers
    return Requirements(
        prompt_tokens=req.prompt_tokens,
        completion_tokens=req.completion_tokens,
        max_tokens_explicit=req.max_tokens_explicit,
        model=req.model,
        models=req.models,
        input_modalities=req.input_modalities | o.input_modalities,
        output_modalities=req.output_modalities,
        needs_tools=req.needs_tools or o.needs_tools,
        needs_structured_output=req.needs_structured_output or o.needs_structured_output,
        needs_reasoning=req.needs_reasoning or o.needs_reasoning,
        required_parameters=req.required_parameters | o.required_parameters,
        min_context_length=floor(req.min_context_length, o.min_context_length),
        allowed_providers=allowed,
        ignored_providers=req.ignored_providers | o.ignored_providers,
        provider_order=req.provider_order,
        allow_provider_fallbacks=req.allow_provider_fallbacks,
        deny_data_collection=req.deny_data_collection or o.deny_data_collection,
        max_prompt_price=cap(req.max_prompt_price, o.max_prompt_price),
        max_completion_price=cap(req.max_completion_price, o.max_completion_price),
        max_request_price=cap(req.max_request_price, o.max_request_price),
        max_cost_usd=cap(req.max_cost_usd, o.max_cost_usd),
        min_uptime=floor(req.min_uptime, o.min_uptime),
        sort=req.sort,
        stream=req.stream,
        allow_variable_price=req.allow_variable_price or o.allow_variable_price,
    )
