"""The cost of a usage record under a pricing record, exactly, the way OpenRouter bills.

Billing rules (OpenRouter docs "Usage Accounting" and "Prompt Caching", checked against
recorded real responses in tests/fixtures/openrouter/responses):

* Uncached prompt tokens are billed at `prompt`; cached tokens (a part of prompt_tokens) at
  `input_cache_read`; cache writes at `input_cache_write` (5 min) or `input_cache_write_1h`.
* Reasoning tokens are a part of completion_tokens and are billed as completion tokens. Only a
  non-zero `internal_reasoning` price is a separate rate for them; "0" (2025 snapshots write
  every unused key as "0") or an absent key means "same as completion".
* `web_search` per search request, `image` per input image, `audio` per audio input token,
  `request` once per request when published.
* `discount` multiplies every component by (1 - discount); overrides pick the prices first.

A quantity above zero whose price is not published raises MissingPriceError; a "-1" price
raises VariablePriceError. Nothing is ever defaulted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from minerva_core.errors import VariablePriceError
from minerva_core.pricing.prices import Pricing
from minerva_core.pricing.usage import Usage

_ZERO = Decimal(0)
_PRECISION = 60  # far above 22 decimals x 10-digit token counts; every step stays exact


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """USD per billing component, each already discounted; `total` is their exact sum."""

    prompt: Decimal = _ZERO
    cache_read: Decimal = _ZERO
    cache_write: Decimal = _ZERO
    audio: Decimal = _ZERO
    images: Decimal = _ZERO
    completion: Decimal = _ZERO
    reasoning: Decimal = _ZERO
    output_images: Decimal = _ZERO
    web_search: Decimal = _ZERO
    request: Decimal = _ZERO
    discount: Decimal = _ZERO

    @property
    def prompt_side(self) -> Decimal:
        """Input charges: OpenRouter's `cost_details.upstream_inference_prompt_cost`."""
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return self.prompt + self.cache_read + self.cache_write + self.audio + self.images

    @property
    def completion_side(self) -> Decimal:
        """Output charges: OpenRouter's `cost_details.upstream_inference_completions_cost`."""
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return self.completion + self.reasoning + self.output_images

    @property
    def total(self) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return self.prompt_side + self.completion_side + self.web_search + self.request


def compute_cost(pricing: Pricing, usage: Usage, *, at: datetime | None = None) -> CostBreakdown:
    """Cost of `usage` under `pricing`; `at` (aware UTC) is needed only for time-window prices."""
    if pricing.is_variable:
        raise VariablePriceError(
            "price is variable (-1): bill the model the router picked, not the router"
        )
    prices = pricing.resolve(usage.prompt_tokens, at)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        keep = 1 - prices.discount
        reasoning_rate = prices.internal_reasoning or prices.completion

        def bill(quantity: int, key: str) -> Decimal:
            if quantity == 0:
                return _ZERO
            return quantity * prices.require(key) * keep

        return CostBreakdown(
            prompt=usage.uncached_prompt_tokens * prices.prompt * keep,
            cache_read=bill(usage.cached_tokens, "input_cache_read"),
            cache_write=bill(usage.cache_write_tokens, "input_cache_write")
            + bill(usage.cache_write_1h_tokens, "input_cache_write_1h"),
            audio=bill(usage.audio_tokens, "audio"),
            images=bill(usage.images, "image"),
            completion=(usage.completion_tokens - usage.reasoning_tokens) * prices.completion * keep,
            reasoning=usage.reasoning_tokens * reasoning_rate * keep,
            output_images=bill(usage.output_images, "image_output"),
            web_search=bill(usage.web_search_requests, "web_search"),
            request=usage.requests * (prices.request or _ZERO) * keep,
            discount=prices.discount,
        )


def cost_of(pricing: Pricing, usage: Usage, *, at: datetime | None = None) -> Decimal:
    """Shortcut for compute_cost(...).total."""
    return compute_cost(pricing, usage, at=at).total
