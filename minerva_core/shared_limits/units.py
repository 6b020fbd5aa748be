"""Pure helpers of the shared store: money as integers of a fixed unit, key names, expiry.

Money in the store is an integer count of ``UNIT`` (10**-12 USD). Redis keeps it exactly
(HINCRBY is 64-bit integer arithmetic) and the scripts compare sums exactly (see
``scripts``), so nothing is ever a float. Conversions round against the customer's favour
where the store could otherwise under-count: reservations, charges and seeded spend round
up, budgets round down; a value already a whole number of units is kept exactly.

Key names carry the virtual key's id in a hash tag (``{id}``) so every key one script
touches lives in one Redis Cluster slot.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from minerva_core.limits import budget_period_key, period_end

UNIT = Decimal("1e-12")
#: The largest amount the store holds (int64): about USD 9.2 million per key and period.
MAX_UNITS = 2**63 - 1
#: Budget slots outlive their period by this much, so a request that began just before the
#: period ended still settles into its own slot.
SLOT_GRACE = timedelta(hours=1)


def units_up(amount: Decimal | None) -> int:
    """``amount`` USD as units, rounded up (0 for None or negative amounts)."""
    if not amount or amount <= 0:
        return 0
    return min(MAX_UNITS, _to_units(amount, ROUND_CEILING))


def units_down(amount: Decimal) -> int:
    """``amount`` USD as units, rounded down (budgets: the store never allows more)."""
    if amount <= 0:
        return 0
    return min(MAX_UNITS, _to_units(amount, ROUND_FLOOR))


def _to_units(amount: Decimal, rounding: str) -> int:
    with localcontext() as ctx:
        ctx.prec = 80  # exact for any amount the store can hold, at any number of decimals
        return int(amount.scaleb(12).to_integral_value(rounding=rounding))


def usd(units: int | str | bytes) -> Decimal:
    """Units back to USD, exactly."""
    if isinstance(units, bytes):
        units = units.decode()
    return Decimal(int(units)).scaleb(-12)


def rate_key(prefix: str, key_id: str) -> str:
    return f"{prefix}{{{key_id}}}:rate"


def budget_key(prefix: str, key_id: str, period: str, at: datetime) -> str:
    return f"{prefix}{{{key_id}}}:budget:{budget_period_key(period, at)}"


def slot_expiry_ms(period: str, at: datetime) -> int:
    """When the budget slot of ``at`` may be forgotten: its period's end plus the grace,
    as Unix milliseconds (PEXPIREAT)."""
    return int((period_end(period, at) + SLOT_GRACE).timestamp() * 1000)


__all__ = ["MAX_UNITS", "SLOT_GRACE", "UNIT", "budget_key", "rate_key", "slot_expiry_ms", "units_down", "units_up",
           "usd"]
