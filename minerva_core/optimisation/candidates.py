"""Which models could have served a group, and what its tokens would have cost there. Pure.

The filtering is the routing engine's (``eligibility`` over a ``Catalog`` with
``Requirements`` made from the used model); the quality rule and the exact costs are here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping

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
    if not pricing.overrides:  # the common case: nothing to bound
        return pricing, pricing
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


Rates = tuple[float, float, float, float, float]  # prompt, completion, reasoning, request, 1 - discount
Entry = tuple[str, int, Pricing, "Rates | None"]  # model id, catalog index, pricing, its Rates when fixed
_MARGIN = 1e-9  # far above float rounding (~1e-15 relative) of a sum of four non-negative products


class CandidatePool:
    """Per used model, the catalog's models that pass the rules that do not depend on a
    group's figures (priced, free models, variants, quality), each once: a catalog and its
    prices are shared by every group of a report, and by every report while the catalog is
    unchanged, so the per-group work is the requirements mask and the costs only.
    Memoised per used model id; the answer is the same as checking each model per group.
    The price bounds of each model (per set of reachable overrides) are memoised too, with
    the upper bound's prices as floats (``Rates``) for ``cheapest_candidate``'s ordering."""

    __slots__ = ("catalog", "prices", "policy", "_by_used", "_bounds", "_masked", "_rows")
    MASKED_MAX = 4096  # (used model, requirements mask) splits kept; cleared when full
    ROWS_MAX = 20_000  # analysed groups kept; cleared when full

    def __init__(self, catalog: Catalog, prices: Mapping[str, Pricing], policy: SavingsPolicy) -> None:
        self.catalog, self.prices, self.policy = catalog, prices, policy
        self._by_used: dict[str, tuple[Entry, ...]] = {}
        self._bounds: dict[tuple[str, tuple[bool, ...]], tuple[Pricing, Pricing, Rates | None]] = {}
        self._masked: dict[tuple[str, int], tuple[list, list]] = {}
        self._rows: dict[tuple[UsageGroup, date | None], Any] = {}

    def analysed(self, group: UsageGroup, today: date | None, analyse: Callable[[], Any]) -> Any:
        """``analyse()``'s answer for (group, today), memoised: a group's row depends on
        nothing else under this pool's catalog, prices and policy, so a report over the same
        period again (or one whose groups are partly unchanged since the last view refresh)
        reuses the rows of the groups it has seen."""
        key = (group, today)
        found = self._rows.get(key)
        if found is None:
            if len(self._rows) >= self.ROWS_MAX:
                self._rows.clear()
            found = self._rows[key] = analyse()
        return found

    def masked(self, used: RoutableModel, mask: int) -> tuple[list[tuple[Rates, str, Pricing]], list[tuple[str, Pricing]]]:
        """The candidates for ``used`` inside a requirements ``mask``, split: (rates, id,
        pricing) of those with one fixed price, and (id, pricing) of the others (overrides to
        bound per group, or no fixed price). Memoised: groups of the same model often share
        a mask."""
        key = (used.id, mask)
        found = self._masked.get(key)
        if found is None:
            fixed: list[tuple[Rates, str, Pricing]] = []
            other: list[tuple[str, Pricing]] = []
            for model_id, index, pricing, rates in self.for_used(used):
                if (mask >> index) & 1:
                    if rates is not None:
                        fixed.append((rates, model_id, pricing))
                    else:
                        other.append((model_id, pricing))
            if len(self._masked) >= self.MASKED_MAX:
                self._masked.clear()
            found = self._masked[key] = (fixed, other)
        return found

    def for_used(self, used: RoutableModel) -> tuple[Entry, ...]:
        """(model id, catalog index, pricing, its Rates when it is one fixed price) of every
        model that may stand in for ``used``."""
        pool = self._by_used.get(used.id)
        if pool is None:
            pool = self._by_used[used.id] = tuple(self._qualifying(used))
        return pool

    def bounds(self, model_id: str, pricing: Pricing, max_prompt_tokens: int) -> tuple[Pricing, Pricing, Rates | None]:
        """``price_bounds(pricing, max_prompt_tokens)`` and the upper bound's ``Rates`` (None
        when it has no fixed price), memoised per model and set of reachable overrides;
        ``pricing`` must be ``prices[model_id]``."""
        key = (model_id, tuple(o.min_prompt_tokens is None or max_prompt_tokens > o.min_prompt_tokens
                               for o in pricing.overrides))
        found = self._bounds.get(key)
        if found is None:
            low, high = price_bounds(pricing, max_prompt_tokens)
            found = self._bounds[key] = (low, high, _rates(high))
        return found

    def _qualifying(self, used: RoutableModel) -> Iterable[Entry]:
        policy = self.policy
        for index, model in enumerate(self.catalog.models):
            pricing = self.prices.get(model.id)
            if model.id == used.id or pricing is None or (model.is_free and not policy.include_free_models):
                continue
            if variant(model.id) in policy.excluded_variants and variant(model.id) != variant(used.id):
                continue
            if not quality_ok(used, model, policy):
                continue
            yield model.id, index, pricing, _rates(pricing)


def _rates(pricing: Pricing) -> Rates | None:
    if pricing.overrides or pricing.is_variable or not 0 <= pricing.discount <= 1:
        return None
    reasoning = pricing.internal_reasoning or pricing.completion  # compute_cost's reasoning rate
    return (float(pricing.prompt), float(pricing.completion), float(reasoning), float(pricing.request or 0),
            float(1 - pricing.discount))


def _tokens_only(usage: Usage) -> bool:
    """True when the usage bills prompt, completion, reasoning and requests only: no price a
    candidate may lack is needed, so every fixed price can price it."""
    return not (usage.cached_tokens or usage.cache_write_tokens or usage.cache_write_1h_tokens or usage.audio_tokens
                or usage.images or usage.output_images or usage.web_search_requests)


def cheapest_candidate(
    catalog: Catalog,
    prices: Mapping[str, Pricing],
    used: RoutableModel,
    group: UsageGroup,
    policy: SavingsPolicy,
    *,
    today: date | None = None,
    pool: CandidatePool | None = None,
) -> Choice:
    """The qualifying model with the lowest upper-bound cost for the group (ties: by id).
    ``pool`` (over the same catalog, prices and policy) shares the group-independent checks
    and the price bounds between calls.

    Exact, with few exact prices: for a tokens-only usage, every candidate whose upper bound
    is a fixed price qualifies, and they are taken in the order of their float estimate; once
    an estimate (less a margin far above float error) exceeds the best exact cost found, no
    later one can win or tie, so the rest are not priced. Other candidates are all priced."""
    if pool is None:
        pool = CandidatePool(catalog, prices, policy)
    req = requirements_for(used, group, policy)
    mask = eligibility(catalog, req, today=today, exclude_variable=True).mask
    usage = candidate_usage(group)
    fixed, other = pool.masked(used, mask)
    exact: list[tuple[str, Pricing]] = []
    estimated: list[tuple[float, str, Pricing]] = []
    if _tokens_only(usage):  # compute_cost's sum in floats: within ~1e-15 of the exact cost
        prompt, completion = usage.uncached_prompt_tokens, usage.completion_tokens - usage.reasoning_tokens
        reasoning, requests = usage.reasoning_tokens, usage.requests
        estimated = [(keep * (prompt * p + completion * c + reasoning * r + requests * q), model_id, pricing)
                     for (p, c, r, q, keep), model_id, pricing in fixed]
        for model_id, pricing in other:
            _, high, rates = pool.bounds(model_id, pricing, group.max_prompt_tokens)
            if rates is None:
                exact.append((model_id, high))
            else:
                p, c, r, q, keep = rates
                estimated.append((keep * (prompt * p + completion * c + reasoning * r + requests * q), model_id, high))
    else:
        exact = [(model_id, pricing) for _, model_id, pricing in fixed]
        exact += [(model_id, pool.bounds(model_id, pricing, group.max_prompt_tokens)[1]) for model_id, pricing in other]
    best: tuple[Decimal, str] | None = None
    qualifying = len(estimated)
    for model_id, high in exact:
        try:
            cost = cost_of(high, usage)
        except PricingError:  # a dimension the group used that this model does not price
            continue
        qualifying += 1
        if best is None or (cost, model_id) < best:
            best = (cost, model_id)
    estimated.sort()
    stop = None if best is None else float(best[0])  # float(): within 1e-16, inside the margin
    for estimate, model_id, high in estimated:
        if stop is not None and estimate * (1 - _MARGIN) > stop:
            break
        cost = cost_of(high, usage)
        if best is None or (cost, model_id) < best:
            best = (cost, model_id)
            stop = float(cost)
    if best is None:
        return Choice(None, None, 0)
    return Choice(best[1], best[0], qualifying)


def used_model_cost(pricing: Pricing | None, group: UsageGroup, pool: CandidatePool | None = None) -> Decimal | None:
    """The group's tokens at the used model's current price, lower bound; None if unpriced.
    ``pool`` (whose prices hold ``pricing`` for the group's model) memoises the bounds."""
    if pricing is None:
        return None
    try:
        low = (pool.bounds(group.model_used, pricing, group.max_prompt_tokens)[0] if pool is not None
               else price_bounds(pricing, group.max_prompt_tokens)[0])
        return cost_of(low, used_usage(group))
    except PricingError:
        return None
