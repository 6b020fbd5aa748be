"""Which models could have served a group, and what its tokens would have cost there. Pure.

The filtering is the routing engine's (``eligibility`` over a ``Catalog`` with
``Requirements`` made from the used model); the quality rule and the exact costs are here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Mapping

from minerva_core.errors import PricingError
from minerva_core.optimisation.report import SavingsPolicy, UsageGroup
from minerva_core.pricing import PRICE_KEYS, Pricing, Usage, cost_of
from minerva_core.routing import Catalog, Requirements, RoutableModel, eligibility


def requirements_for(used: RoutableModel, group: UsageGroup, policy: SavingsPolicy) -> Requirements:
    """The used model's capabilities as the group's requirements (the ledger keeps no
    per-request tools/modality flags): at least its input and output modalities; tools and
    structured output wherever it has them; reasoning where it has it and the group used it
    (or always, without ``reasoning_from_usage``); context for the group's largest request;
    a completion limit for its longest answer."""
    reasoning = used.supports_reasoning and (
        group.reasoning_tokens > 0 or not policy.reasoning_from_usage
    )
    return Requirements(
        prompt_tokens=0,
        completion_tokens=group.max_completion_tokens,
        max_tokens_explicit=group.max_completion_tokens > 0,
        min_context_length=group.max_context_tokens or None,
        input_modalities=used.input_modalities,
        output_modalities=used.output_modalities,
        needs_tools=used.supports_tools,
        needs_structured_output=used.supports_structured_output,
        needs_reasoning=reasoning,
    )


def variant(model_id: str) -> str | None:
    """The ``:suffix`` of an id (``free``, ``batch``, ``thinking`` ...), None without one."""
    return model_id.rpartition(":")[2] if ":" in model_id else None


def quality_ok(used: RoutableModel, candidate: RoutableModel, policy: SavingsPolicy) -> bool:
    """Candidate quality >= used quality - tolerance, compared in Decimal; a missing score on
    either side passes only with ``allow_unknown_quality``."""
    if used.quality_score is None or candidate.quality_score is None:
        return policy.allow_unknown_quality
    floor = Decimal(repr(used.quality_score)) - policy.quality_tolerance
    return Decimal(repr(candidate.quality_score)) >= floor


def price_bounds(pricing: Pricing, max_prompt_tokens: int) -> tuple[Pricing, Pricing]:
    """(lowest, highest) prices a request of the group could meet, without overrides: per
    price key the min / max over the base price and every override that can apply (a prompt
    tier the group's largest prompt exceeds; any UTC window, since request times vary)."""
    base = replace(pricing, overrides=())
    reachable = [
        dict(o.prices) for o in pricing.overrides
        if o.min_prompt_tokens is None or max_prompt_tokens > o.min_prompt_tokens
    ]
    if not reachable:
        return base, base
    low: dict[str, Decimal | None] = {}
    high: dict[str, Decimal | None] = {}
    for key in PRICE_KEYS:
        values = [v for v in (getattr(base, key), *(o.get(key) for o in reachable)) if v is not None]
        low[key] = min(values) if values else None
        high[key] = max(values) if values else None
    return replace(base, **low), replace(base, **high)


def used_usage(group: UsageGroup) -> Usage:
    """The group's consumption as billed (raises InvalidUsageError when sums contradict)."""
    return Usage(
        prompt_tokens=group.prompt_tokens, completion_tokens=group.completion_tokens,
        reasoning_tokens=group.reasoning_tokens, cached_tokens=group.cached_tokens,
        cache_write_tokens=group.cache_write_tokens, audio_tokens=group.audio_tokens,
        images=group.image_count, web_search_requests=group.web_search_count,
        requests=group.requests,
    )


def candidate_usage(group: UsageGroup) -> Usage:
    """The same consumption on another model, with no caching assumed there: cache reads and
    writes are billed as plain prompt tokens (a cache may not carry over to another model)."""
    return replace(used_usage(group), cached_tokens=0, cache_write_tokens=0)


@dataclass(frozen=True, slots=True)
class Choice:
    model_id: str | None  # the cheapest qualifying candidate; None without one
    cost_usd: Decimal | None
    qualifying: int  # candidates that met every rule and could be priced


def cheapest_candidate(
    catalog: Catalog,
    prices: Mapping[str, Pricing],
    used: RoutableModel,
    group: UsageGroup,
    policy: SavingsPolicy,
    *,
    today: date | None = None,
) -> Choice:
    """The qualifying model with the lowest upper-bound cost for the group (ties: by id)."""
    req = requirements_for(used, group, policy)
    mask = eligibility(catalog, req, today=today, exclude_variable=True).mask
    mask &= ~catalog.mask_of([used.id])
    usage = candidate_usage(group)
    best: tuple[Decimal, str] | None = None
    qualifying = 0
    for model_id in catalog.ids_of(mask):
        model = catalog.models[catalog.index[model_id]]
        pricing = prices.get(model_id)
        if pricing is None or (model.is_free and not policy.include_free_models):
            continue
        if variant(model_id) in policy.excluded_variants and variant(model_id) != variant(used.id):
            continue
        if not quality_ok(used, model, policy):
            continue
        try:
            cost = cost_of(price_bounds(pricing, group.max_prompt_tokens)[1], usage)
        except PricingError:  # a dimension the group used that this model does not price
            continue
        qualifying += 1
        if best is None or (cost, model_id) < best:
            best = (cost, model_id)
    if best is None:
        return Choice(None, None, 0)
    return Choice(best[1], best[0], qualifying)


def used_model_cost(pricing: Pricing | None, group: UsageGroup) -> Decimal | None:
    """The group's tokens at the used model's current price, lower bound; None if unpriced."""
    if pricing is None:
        return None
    try:
        return cost_of(price_bounds(pricing, group.max_prompt_tokens)[0], used_usage(group))
    except PricingError:
        return None
