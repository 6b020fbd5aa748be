"""OpenRouter pricing records read into exact Decimals.

An OpenRouter pricing dict holds USD prices as decimal strings: per token (`prompt`,
`completion`, `input_cache_read`, ...), per unit (`image`, `web_search`) or per request
(`request`). "-1" marks a variable price (routers). Zero-valued keys are written as "0" in
2025 snapshots and omitted from 2026 on, so an absent key is kept as None ("not published")
and never turned into a number here. `discount` is a fraction taken off every price;
`overrides` replace some prices above a prompt-token threshold or inside a daily UTC window.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from minerva_core.errors import InvalidPriceError, MissingPriceError, PricingError

#: Price keys Minerva knows how to bill, in OpenRouter's spelling.
PRICE_KEYS: tuple[str, ...] = (
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
    "audio",
    "audio_output",
    "input_audio_cache",
)
_CONDITION_KEYS = ("min_prompt_tokens", "utc_start", "utc_end")


def parse_decimal(value: Any, key: str) -> Decimal:
    """Read one price as an exact Decimal; strings are preferred, numbers are accepted."""
    if isinstance(value, bool) or value is None:
        raise InvalidPriceError(f"price {key!r} is {value!r}, not a number")
    if isinstance(value, float):
        value = repr(value)  # shortest round-trip digits, never the binary expansion
    try:
        number = Decimal(value) if isinstance(value, (str, int, Decimal)) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InvalidPriceError(f"price {key!r} is {value!r}, not a decimal number")
    return number


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """Replacement prices that apply when every condition present matches the request."""

    prices: tuple[tuple[str, Decimal], ...]
    min_prompt_tokens: int | None = None
    utc_start: int | None = None
    utc_end: int | None = None

    @property
    def is_time_window(self) -> bool:
        return self.utc_start is not None

    def applies(self, prompt_tokens: int, at: datetime | None) -> bool:
        """True when the request matches this entry (prompt tokens strictly above the tier;
        UTC clock inside the half-open window [utc_start, utc_end), which may wrap midnight)."""
        if self.min_prompt_tokens is not None and not prompt_tokens > self.min_prompt_tokens:
            return False
        if self.utc_start is not None and self.utc_end is not None:
            if at is None:
                raise PricingError("pricing has UTC time-window overrides: pass the request time")
            clock = _utc_clock(at)
            start, end = self.utc_start, self.utc_end
            inside = start <= clock < end if start <= end else (clock >= start or clock < end)
            if not inside:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Pricing:
    """One model's or endpoint's prices; None means the key was not published."""

    prompt: Decimal
    completion: Decimal
    request: Decimal | None = None
    image: Decimal | None = None
    image_output: Decimal | None = None
    image_token: Decimal | None = None
    web_search: Decimal | None = None
    internal_reasoning: Decimal | None = None
    input_cache_read: Decimal | None = None
    input_cache_write: Decimal | None = None
    input_cache_write_1h: Decimal | None = None
    audio: Decimal | None = None
    audio_output: Decimal | None = None
    input_audio_cache: Decimal | None = None
    discount: Decimal = Decimal(0)
    overrides: tuple[PriceOverride, ...] = ()
    #: Keys this module does not know, kept so callers can notice new billing dimensions.
    extra: tuple[tuple[str, Decimal], ...] = field(default=())

    #: True for routers priced "-1": the charge depends on the model picked per request.
    is_variable: bool = field(init=False, compare=False, repr=False, default=False)

    def __post_init__(self) -> None:
        variable = any(
            value is not None and value < 0 for value in (getattr(self, key) for key in PRICE_KEYS)
        )
        object.__setattr__(self, "is_variable", variable)

    @property
    def has_time_windows(self) -> bool:
        return any(override.is_time_window for override in self.overrides)

    def price(self, key: str) -> Decimal | None:
        return getattr(self, key)

    def require(self, key: str) -> Decimal:
        """The price for `key`, or MissingPriceError when the record does not publish it."""
        value = getattr(self, key)
        if value is None:
            raise MissingPriceError(f"no {key!r} price published, but the usage needs one")
        return value

    def resolve(self, prompt_tokens: int, at: datetime | None = None) -> Pricing:
        """The prices in force for a request: matching overrides applied, later ones winning."""
        if not self.overrides:
            return self
        changes: dict[str, Decimal] = {}
        for override in self.overrides:
            if override.applies(prompt_tokens, at):
                changes.update(override.prices)
        return replace(self, overrides=(), **changes)


def parse_pricing(raw: Mapping[str, Any]) -> Pricing:
    """Read an OpenRouter `pricing` dict. `prompt` and `completion` are required."""
    if not isinstance(raw, Mapping):
        raise InvalidPriceError(f"pricing must be an object, got {type(raw).__name__}")
    for key in ("prompt", "completion"):
        if raw.get(key) is None:
            raise MissingPriceError(f"pricing has no {key!r} price")
    known: dict[str, Any] = {}
    extra: list[tuple[str, Decimal]] = []
    for key, value in raw.items():
        if key in PRICE_KEYS:
            known[key] = parse_decimal(value, key)
        elif key == "discount":
            known["discount"] = _parse_discount(value)
        elif key == "overrides":
            known["overrides"] = tuple(_parse_override(item) for item in value or ())
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            extra.append((key, parse_decimal(value, key)))
    return Pricing(**known, extra=tuple(extra))


def pricing_to_strings(pricing: Pricing) -> dict[str, Any]:
    """The inverse of parse_pricing, with prices as plain decimal strings (no exponent)."""
    out: dict[str, Any] = {}
    for f in fields(Pricing):
        value = getattr(pricing, f.name)
        if f.name in PRICE_KEYS and value is not None:
            out[f.name] = decimal_string(value)
    if pricing.discount:
        out["discount"] = pricing.discount
    if pricing.overrides:
        out["overrides"] = [_override_to_dict(o) for o in pricing.overrides]
    return out


def decimal_string(value: Decimal) -> str:
    """Plain digits for a Decimal: "0.0000003", never "3E-7"; "-1" stays "-1"."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _parse_discount(value: Any) -> Decimal:
    discount = parse_decimal(value, "discount")
    if not Decimal(0) <= discount <= Decimal(1):
        raise InvalidPriceError(f"discount {value!r} is outside 0..1")
    return discount


def _parse_override(raw: Any) -> PriceOverride:
    if not isinstance(raw, Mapping):
        raise InvalidPriceError(f"pricing override must be an object, got {raw!r}")
    prices = tuple(
        (key, parse_decimal(value, key)) for key, value in raw.items() if key in PRICE_KEYS
    )
    conditions: dict[str, int | None] = {}
    for key in _CONDITION_KEYS:
        value = raw.get(key)
        if value is not None:
            number = parse_decimal(value, key)
            if number != number.to_integral_value() or number < 0:
                raise InvalidPriceError(f"override condition {key}={value!r} is not a whole number")
            conditions[key] = int(number)
    if ("utc_start" in conditions) != ("utc_end" in conditions):
        raise InvalidPriceError(f"override {raw!r} has only one end of its UTC window")
    for key in ("utc_start", "utc_end"):
        clock = conditions.get(key)
        if clock is not None and not (clock % 100 < 60 and clock <= 2400):
            raise InvalidPriceError(f"override {key}={clock} is not an HHMM clock time")
    return PriceOverride(prices=prices, **conditions)


def _override_to_dict(override: PriceOverride) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _CONDITION_KEYS:
        value = getattr(override, key)
        if value is not None:
            out[key] = value
    out.update((key, decimal_string(value)) for key, value in override.prices)
    return out


def _utc_clock(at: datetime) -> int:
    if at.tzinfo is None:
        raise PricingError("request time must be timezone-aware (UTC)")
    utc = at.astimezone(timezone.utc)
    return utc.hour * 100 + utc.minute
