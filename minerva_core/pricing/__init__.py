"""Pure, exact cost math for OpenRouter prices (Decimal in, Decimal out; no I/O).

    pricing = parse_pricing(model["pricing"])            # strings -> Decimals, overrides
    usage = Usage.from_openrouter(response["usage"])     # or Usage(prompt_tokens=..., ...)
    breakdown = compute_cost(pricing, usage, at=now)     # CostBreakdown; .total is the charge
"""

from minerva_core.pricing.cost import CostBreakdown, compute_cost, cost_of
from minerva_core.pricing.prices import (
    PRICE_KEYS,
    PriceOverride,
    Pricing,
    decimal_string,
    parse_decimal,
    parse_pricing,
    pricing_to_strings,
)
from minerva_core.pricing.usage import Usage

__all__ = [
    "PRICE_KEYS",
    "CostBreakdown",
    "PriceOverride",
    "Pricing",
    "Usage",
    "compute_cost",
    "cost_of",
    "decimal_string",
    "parse_decimal",
    "parse_pricing",
    "pricing_to_strings",
]
