"""Admission before any upstream call: the key's rpm/tpm buckets (optionally waiting in a
bounded per-key queue), then its budget (reserve the estimate, settle the exact charge).

State lives in ``minerva_core.limits`` objects held by one ``AdmissionControl`` per app
(on app.state, never a module global). The decisions are pure functions of that state and
an injected clock; only ``admit`` sleeps (asyncio, never blocking the loop).

Queueing (keys with queue_when_limited): a limited request waits for its bucket when fewer
than ``max_queue_waiters`` requests of the key already wait and the wait fits in the key's
max_queue_wait_ms; otherwise, or when its deadline passes, it is refused with 429 and
Retry-After (whole seconds, rounded up).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from minerva_core.limits import Admission, BudgetTracker, RateLimiter, budget_period_key
from proxy.gateway.responses import BudgetExceededError, RateLimitError
from proxy.gateway.state import KeyInfo

ZERO = Decimal(0)


def queue_verdict(admission: Admission, key: KeyInfo, waiting: int, waited_s: float, max_waiters: int) -> str:
    """"admit", "wait" or "reject" for one admission attempt. Pure."""
    if admission.allowed:
        return "admit"
    if not key.queue_when_limited or waiting >= max_waiters:
        return "reject"
    if waited_s + admission.retry_after > key.max_queue_wait_ms / 1000.0:
        return "reject"
    return "wait"


def rate_limit_error(key: KeyInfo, admission: Admission, queued: bool = False) -> RateLimitError:
    what = {"rpm": f"{key.rpm_limit} requests per minute", "tpm": f"{key.tpm_limit} tokens per minute"}
    limit = what.get(admission.reason or "", "its rate limit")
    suffix = " (the wait would exceed the key's queue limits)" if queued else ""
    return RateLimitError(
        f"rate limit reached for this API key: {limit}; retry after {max(1, math.ceil(admission.retry_after))} s{suffix}",
        retry_after=admission.retry_after,
        code=f"rate_limit_{admission.reason}" if admission.reason else None,
    )


class Budgets(BudgetTracker):
    """``BudgetTracker`` with the period slot memoised per (period, UTC date): the same
    arithmetic without two or three strftime calls per request."""

    def __init__(self) -> None:
        super().__init__()
        self._slots: dict[tuple, str] = {}

    def _slot(self, key_id: str, period: str, at: datetime) -> tuple[str, str]:
        memo = (period, at.year, at.month, at.day, at.utcoffset())
        slot = self._slots.get(memo)
        if slot is None:
            if len(self._slots) > 64:
                self._slots.clear()
            slot = self._slots[memo] = budget_period_key(period, at)
        return key_id, slot

    def remaining(self, key_id: str, budget: Decimal, period: str, at: datetime) -> Decimal:
        slot = self._slot(key_id, period, at)
        return budget - self.spent.get(slot, ZERO) - self.reserved.get(slot, ZERO)

    def reserve(self, key_id: str, budget: Decimal, period: str, at: datetime, estimate: Decimal) -> bool:
        slot = self._slot(key_id, period, at)
        if estimate > budget - self.spent.get(slot, ZERO) - self.reserved.get(slot, ZERO):
            return False
        self.reserved[slot] = self.reserved.get(slot, ZERO) + estimate
        return True

    def settle(self, key_id: str, period: str, at: datetime, estimate: Decimal, charge: Decimal) -> None:
        slot = self._slot(key_id, period, at)
        self.reserved[slot] = max(ZERO, self.reserved.get(slot, ZERO) - estimate)
        self.spent[slot] = self.spent.get(slot, ZERO) + charge


@dataclass
class AdmissionControl:
    max_waiters: int = 64
    clock: Callable[[], float] = time.monotonic
    limiter: RateLimiter = field(default_factory=RateLimiter)
    budgets: BudgetTracker = field(default_factory=Budgets)
    waiting: dict[str, int] = field(default_factory=dict)

    # -- rate limits -----------------------------------------------------------------------
    def try_admit(self, key: KeyInfo, tokens: int) -> Admission:
        if not key.rpm_limit and not key.tpm_limit:
            return _ALLOWED
        return self.limiter.admit(key.id, key.rpm_limit, key.tpm_limit, tokens, self.clock())

    async def admit(self, key: KeyInfo, tokens: int) -> float:
        """Admit now, or after queueing; return the seconds waited. Raises RateLimitError."""
        admission = self.try_admit(key, tokens)
        if admission.allowed:
            return 0.0
        started = self.clock()
        waiting = self.waiting.get(key.id, 0)
        verdict = queue_verdict(admission, key, waiting, 0.0, self.max_waiters)
        if verdict == "reject":
            raise rate_limit_error(key, admission, queued=key.queue_when_limited)
        self.waiting[key.id] = waiting + 1
        try:
            while True:
                await asyncio.sleep(admission.retry_after)
                admission = self.try_admit(key, tokens)
                waited = self.clock() - started
                # The waiter already holds its place: it is not counted against the bound again.
                verdict = queue_verdict(admission, key, 0, waited, self.max_waiters)
                if verdict == "admit":
                    return waited
                if verdict == "reject":
                    raise rate_limit_error(key, admission, queued=True)
        finally:
            left = self.waiting.get(key.id, 1) - 1
            if left:
                self.waiting[key.id] = left
            else:
                self.waiting.pop(key.id, None)

    def settle_tokens(self, key: KeyInfo, estimated: int, actual: int) -> None:
        if key.tpm_limit:
            self.limiter.settle_tokens(key.id, key.tpm_limit, estimated, actual, self.clock())

    # -- budgets ---------------------------------------------------------------------------
    def reserve(self, key: KeyInfo, estimate: Decimal | None, at: datetime) -> Decimal:
        """Hold the estimate (0 when unknown) against the key's budget; return what was held.
        Raises BudgetExceededError when it does not fit."""
        if key.budget_usd is None or not key.budget_period:
            return ZERO
        amount = estimate or ZERO
        if not self.budgets.reserve(key.id, key.budget_usd, key.budget_period, at, amount):
            left = self.budgets.remaining(key.id, key.budget_usd, key.budget_period, at)
            raise BudgetExceededError(
                f"this API key's {key.budget_period}ly budget of ${key.budget_usd} would be exceeded: "
                f"${max(left, ZERO)} left, this request is estimated at ${amount}"
            )
        return amount

    def settle(self, key: KeyInfo, held: Decimal, charge: Decimal | None, at: datetime) -> None:
        """Replace the held estimate with the exact charge (the upstream's usage.cost, else
        our estimate, else nothing)."""
        if key.budget_usd is None or not key.budget_period:
            return
        self.budgets.settle(key.id, key.budget_period, at, held, charge or ZERO)

    def load_spend(self, key: KeyInfo, amount: Decimal, at: datetime) -> None:
        if key.budget_period:
            self.budgets.load(key.id, key.budget_period, at, amount)

    def queued(self) -> int:
        return sum(self.waiting.values())


_ALLOWED = Admission(True)

__all__ = ["AdmissionControl", "queue_verdict", "rate_limit_error"]
