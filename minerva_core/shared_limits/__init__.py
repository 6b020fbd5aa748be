"""Rate limits and budgets shared by every proxy process of a deployment, in Redis.

Why Redis and not PostgreSQL:

- The proxy must keep routing when PostgreSQL is down (the ledger then goes to the local
  spool); state it needs on every limited request cannot live there.
- One admission is one atomic Lua script, one round trip of about 0.1-0.3 ms on a local
  network (``bench/shared_limits.py`` measures it). A PostgreSQL row lock per request would
  serialise every request of a hot key behind one row and add a round trip to the ledger
  database on the hot path.
- Redis's own clock (``TIME``) timestamps the buckets, so processes on machines whose
  clocks disagree still agree on refills.

What is shared (see ``scripts`` for the exact semantics):

    {prefix}{<key id>}:rate:rpm / :rate:tpm     token buckets (same decisions and Retry-After
                                                as ``minerva_core.limits.RateLimiter``)
    {prefix}{<key id>}:budget:<YYYY-MM[-DD]>    {spent, reserved} in 10**-12 USD per UTC day
                                                or month; expires an hour after the period

A period's spend is seeded from the usage ledger by the first process that loads it
(HSETNX); reservations and charges round up, budgets down, so the shared total never
under-counts. Configure with MINERVA_REDIS_URL (unset: every process keeps its own limits,
as before); keys without limits or budgets never touch Redis.

Modules: ``units`` (pure: money units, key names, expiry), ``scripts`` (the Lua text),
``store`` (``SharedLimits``, the redis.asyncio adapter with its timeout and breaker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minerva_core.shared_limits.store import BudgetVerdict, SharedLimits


def __getattr__(name: str) -> Any:
    if name in ("SharedLimits", "BudgetVerdict", "describe_url"):
        from minerva_core.shared_limits import store

        return getattr(store, name)
    raise AttributeError(name)


__all__ = ["BudgetVerdict", "SharedLimits", "describe_url"]
