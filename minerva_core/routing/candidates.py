"""Which models may serve a request, and why the others may not. Pure.

Two views of the same rules, kept in one file so they cannot drift (a test checks that they
agree on every model of the real snapshot):

* ``eligibility`` -> the eligible bitmask plus, per reason code, how many models that filter
  removed first (filters run in ``FILTER_ORDER``; a model is counted once, under the first
  filter it fails). Cost: a few dozen big-int operations, no loop over models.
* ``explain`` -> every reason one model fails, with a sentence, for the models a decision
  names (requested, chains) and for ``NoRouteError``.

``max_cost_usd`` depends on both token counts, so it is no precomputed mask: ``eligibility``
turns it into an exact integer cap (``cost_cap``) that the ranking checks per candidate, and
``explain`` checks it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import AbstractSet, Any

from minerva_core.routing.catalog import UNKNOWN_CONTEXT, Catalog
from minerva_core.routing.model import (
    ASYNC_VARIANT,
    CONTEXT_TOO_SMALL,
    COOLING_DOWN,
    DATA_COLLECTION,
    DEPRECATED,
    DISABLED,
    EXPIRED,
    LOW_UPTIME,
    MAX_TOKENS_OVER_LIMIT,
    MISSING_MODALITY,
    MISSING_OUTPUT_MODALITY,
    MISSING_PARAMETER,
    MISSING_PRICE,
    NO_REASONING,
    NO_STRUCTURED_OUTPUT,
    NO_TOOLS,
    NOT_FOUND,
    OVER_MAX_COST,
    OVER_MAX_PRICE,
    PROVIDER_DENIED,
    VARIABLE_PRICE,
    Requirements,
)

FILTER_ORDER = (
    DISABLED, DEPRECATED, EXPIRED, COOLING_DOWN, MISSING_OUTPUT_MODALITY, MISSING_MODALITY,
    NO_TOOLS, NO_STRUCTURED_OUTPUT, NO_REASONING, MISSING_PARAMETER, CONTEXT_TOO_SMALL,
    MAX_TOKENS_OVER_LIMIT, PROVIDER_DENIED, DATA_COLLECTION, MISSING_PRICE, VARIABLE_PRICE,
    ASYNC_VARIANT, OVER_MAX_PRICE, LOW_UPTIME, OVER_MAX_COST,
)


@dataclass(slots=True)
class Eligibility:
    mask: int
    counts: dict[str, int]
    cost_cap: int | None  # max_cost_usd * 10**scale, floored; None without a cap
    exclude_variable: bool


def cost_cap_int(catalog: Catalog, req: Requirements) -> int | None:
    if req.max_cost_usd is None:
        return None
    return int(req.max_cost_usd.scaleb(catalog.scale).to_integral_value(rounding="ROUND_FLOOR"))


def has_provider_filter(req: Requirements) -> bool:
    return (req.allowed_providers is not None or bool(req.ignored_providers)
            or (bool(req.provider_order) and not req.allow_provider_fallbacks))


def provider_pass_mask(catalog: Catalog, req: Requirements) -> int:
    """Models the provider allow/deny lists leave (all of them without lists)."""
    allowed = catalog.all_mask
    if req.allowed_providers is not None:
        allowed = catalog.provider_mask(req.allowed_providers, all_of=False)
    if req.provider_order and not req.allow_provider_fallbacks:
        allowed &= catalog.provider_mask(req.provider_order, all_of=False)
    if req.ignored_providers:
        allowed &= ~catalog.provider_mask(req.ignored_providers, all_of=True)
    return allowed


def eligibility(
    catalog: Catalog,
    req: Requirements,
    *,
    cooling_mask: int = 0,
    today: date | None = None,
    exclude_variable: bool = False,
    exclude_async: bool = False,
) -> Eligibility:
    """The eligible mask and the per-reason exclusion counts (see the module docstring)."""
    c = catalog
    counts: dict[str, int] = {}
    remaining = c.all_mask

    def keep(code: str, passing: int) -> None:
        nonlocal remaining
        removed = remaining & ~passing
        if removed:
            counts[code] = counts.get(code, 0) + removed.bit_count()
            remaining &= passing

    keep(DISABLED, ~c.disabled)
    keep(DEPRECATED, ~c.deprecated)
    if today is not None:
        keep(EXPIRED, ~c.expiring.at_most(today))
    if cooling_mask:
        keep(COOLING_DOWN, ~cooling_mask)
    for name in sorted(req.output_modalities):
        keep(f"{MISSING_OUTPUT_MODALITY}:{name}", c.out_modality.get(name, 0))
    for name in sorted(req.input_modalities):
        keep(f"{MISSING_MODALITY}:{name}", c.in_modality.get(name, 0))
    if req.needs_tools:
        keep(NO_TOOLS, c.tools)
    if req.needs_structured_output:
        keep(NO_STRUCTURED_OUTPUT, c.structured)
    if req.needs_reasoning:
        keep(NO_REASONING, c.reasoning)
    for name in sorted(req.required_parameters):
        keep(f"{MISSING_PARAMETER}:{name}", c.parameter.get(name, 0))
    keep(CONTEXT_TOO_SMALL, c.context.at_least(req.context_tokens))
    if req.max_tokens_explicit:
        keep(MAX_TOKENS_OVER_LIMIT, c.completion_limit.at_least(req.completion_tokens))
    if has_provider_filter(req):
        keep(PROVIDER_DENIED, provider_pass_mask(c, req))
    if req.deny_data_collection:
        keep(DATA_COLLECTION, ~c.collects)
    keep(MISSING_PRICE, c.priced | c.variable)
    exclude_variable = (exclude_variable or req.has_price_caps) and not req.allow_variable_price
    if exclude_variable:
        keep(VARIABLE_PRICE, ~c.variable)
    if exclude_async:
        keep(ASYNC_VARIANT, ~c.async_variant)
    if req.max_prompt_price is not None:
        keep(OVER_MAX_PRICE, c.prompt_price.at_most(req.max_prompt_price))
    if req.max_completion_price is not None:
        keep(OVER_MAX_PRICE, c.completion_price.at_most(req.max_completion_price))
    if req.max_request_price is not None:
        keep(OVER_MAX_PRICE, c.request_price.at_most(req.max_request_price))
    if req.min_uptime is not None:
        keep(LOW_UPTIME, c.uptime.at_least(req.min_uptime))
    return Eligibility(remaining, counts, cost_cap_int(c, req), exclude_variable)


def _fmt(n: int) -> str:
    return f"{n:,}"


def _usd(amount: Any) -> str:
    return f"${Decimal(amount).normalize():f}"


def explain(
    catalog: Catalog,
    model_id: str,
    req: Requirements,
    *,
    cooling: AbstractSet[str] = frozenset(),
    today: date | None = None,
    exclude_variable: bool = False,
    exclude_async: bool = False,
) -> list[tuple[str, str]]:
    """Every (code, sentence) that keeps ``model_id`` from serving ``req``; [] if it may."""
    i = catalog.index.get(model_id)
    if i is None:
        return [(NOT_FOUND, "not in the live catalog")]
    m = catalog.models[i]
    out: list[tuple[str, str]] = []
    add = out.append
    if m.status == "disabled":
        add((DISABLED, "disabled in the catalog"))
    if m.status == "deprecated":
        add((DEPRECATED, "deprecated: no longer listed upstream"))
    if today is not None and m.expiration_date is not None and m.expiration_date <= today:
        add((EXPIRED, f"expired on {m.expiration_date.isoformat()}"))
    if model_id in cooling:
        add((COOLING_DOWN, "cooling down after recent upstream failures"))
    for name in sorted(req.output_modalities - m.output_modalities):
        add((f"{MISSING_OUTPUT_MODALITY}:{name}", f"cannot produce {name} output"))
    for name in sorted(req.input_modalities - m.input_modalities):
        add((f"{MISSING_MODALITY}:{name}", f"does not accept {name} input"))
    if req.needs_tools and not m.supports_tools:
        add((NO_TOOLS, "does not support tool calling"))
    if req.needs_structured_output and not m.supports_structured_output:
        add((NO_STRUCTURED_OUTPUT, "does not support structured output (response_format)"))
    if req.needs_reasoning and not m.supports_reasoning:
        add((NO_REASONING, "does not support reasoning"))
    for name in sorted(req.required_parameters - m.supported_parameters):
        add((f"{MISSING_PARAMETER}:{name}", f"does not support the {name} parameter"))
    context = m.context_length or UNKNOWN_CONTEXT
    if context < req.context_tokens:
        add((CONTEXT_TOO_SMALL,
             f"needs {_fmt(req.context_tokens)} tokens of context (prompt ~{_fmt(req.prompt_tokens)}"
             f" + {_fmt(req.completion_tokens)} completion); has {_fmt(context)}"))
    limit = m.max_completion_tokens or m.context_length or UNKNOWN_CONTEXT
    if req.max_tokens_explicit and limit < req.completion_tokens:
        add((MAX_TOKENS_OVER_LIMIT,
             f"max_tokens {_fmt(req.completion_tokens)} over its completion limit {_fmt(limit)}"))
    if has_provider_filter(req):
        if not provider_pass_mask(catalog, req) >> i & 1:
            add((PROVIDER_DENIED,
                 f"provider {', '.join(sorted(m.provider_set))} not allowed by the request"))
    if req.deny_data_collection and m.collects_data is True:
        add((DATA_COLLECTION, "its providers may collect data (data_collection: deny)"))
    if not m.is_priced and not m.is_variable_price:
        add((MISSING_PRICE, "has no prompt/completion price"))
    exclude_variable = (exclude_variable or req.has_price_caps) and not req.allow_variable_price
    if exclude_variable and m.is_variable_price:
        add((VARIABLE_PRICE, "variable-price router: its cost cannot be estimated or capped"))
    if exclude_async and model_id in catalog.async_variants:
        add((ASYNC_VARIANT, "asynchronous :batch variant: only served when named"))
    if m.is_priced:
        caps = (
            ("prompt", m.prompt_price, req.max_prompt_price, 1_000_000, "per million tokens"),
            ("completion", m.completion_price, req.max_completion_price, 1_000_000,
             "per million tokens"),
            ("request", m.request_price or 0, req.max_request_price, 1, "per request"),
        )
        for label, price, cap, unit, what in caps:
            if cap is not None and price > cap:
                add((OVER_MAX_PRICE,
                     f"{label} price {_usd(price * unit)} {what} over the cap {_usd(cap * unit)}"))
    health = catalog.health.get(model_id)
    if req.min_uptime is not None and health is not None and health.uptime is not None:
        if health.uptime < req.min_uptime:
            add((LOW_UPTIME, f"uptime {health.uptime:.2%} below {req.min_uptime:.2%}"))
    if req.max_cost_usd is not None and m.is_priced:
        cost = catalog.cost(model_id, req.prompt_tokens, req.completion_tokens)
        if cost is not None and cost > req.max_cost_usd:
            add((OVER_MAX_COST,
                 f"estimated cost {_usd(cost)} over the request's cap {_usd(req.max_cost_usd)}"))
    return out
