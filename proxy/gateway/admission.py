"""Admission before any upstream call: the key's rpm/tpm buckets (optionally waiting in a
bounded per-key queue), then its budget (reserve the estimate, settle the exact charge).

State lives in ``minerva_core.limits`` objects held by one ``AdmissionControl`` per app
(on app.state, never a module global). The decisions are pure functions of that state and
an injected clock; only ``admit`` sleeps (asyncio, never blocking the loop).

With a shared store (``shared``, a ``minerva_core.shared_limits.SharedLimits``; set when
MINERVA_REDIS_URL is) the buckets and budgets of limited keys live there, so every proxy
process of the deployment admits against the same numbers; keys without limits or budgets
never touch it. When the store fails or is slow, that request is decided by this
process's own limiter and budget (counted through ``on_fallback``); settlements that could
not reach the store are kept (bounded) and replayed once it answers. The in-process budget
still learns every charge: it is what seeds a new period slot in the store.

Queueing (keys with queue_when_limited): a limited request waits for its bucket when fewer
than ``max_queue_waiters`` requests of the key already wait and the wait fits in the key's
max_queue_wait_ms; otherwise, or when its deadline passes, it is refused with 429 and
Retry-After (whole seconds, rounded up).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from minerva_core.errors import SharedLimitsUnavailable
from minerva_core.limits import Admission, BudgetTracker, RateLimiter, budget_period_key
from proxy.gateway.responses import BudgetExceededError, RateLimitError
from proxy.gateway.state import KeyInfo

ZERO = Decimal(0)
log = logging.getLogger(__name__)
#: Settlements kept while the shared store is away (oldest dropped beyond this).
MAX_BACKLOG = 10_000


class SharedHold(Decimal):
    """A budget reservation held in the shared store (a plain Decimal is held in process)."""

    __slots__ = ()


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
    shared: Any = None  # minerva_core.shared_limits.SharedLimits, or None: in process only
    on_fallback: Callable[[str], None] | None = None  # called with the operation's name
    _tasks: set[asyncio.Task] = field(default_factory=set, repr=False)
    _outbox: deque = field(default_factory=lambda: deque(maxlen=MAX_BACKLOG), repr=False)
    _draining: bool = False

    # -- rate limits -----------------------------------------------------------------------
    def try_admit(self, key: KeyInfo, tokens: int) -> Admission:
        """This process's own decision (the only one without a shared store)."""
        if not key.rpm_limit and not key.tpm_limit:
            return _ALLOWED
        return self.limiter.admit(key.id, key.rpm_limit, key.tpm_limit, tokens, self.clock())

    async def check(self, key: KeyInfo, tokens: int) -> Admission:
        """The shared store's decision, or this process's when the store is unset or away."""
        shared = self.shared
        if shared is not None:
            if shared.available():
                try:
                    admission = await shared.admit(key.id, key.rpm_limit, key.tpm_limit, tokens)
                except SharedLimitsUnavailable:
                    pass
                else:
                    self._answered()
                    return admission
            self._fell_back("admit")
        return self.try_admit(key, tokens)

    async def admit(self, key: KeyInfo, tokens: int) -> float:
        """Admit now, or after queueing; return the seconds waited. Raises RateLimitError."""
        if not key.rpm_limit and not key.tpm_limit:
            return 0.0
        admission = await self.check(key, tokens) if self.shared is not None else self.try_admit(key, tokens)
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
                admission = await self.check(key, tokens)
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
        """Correct the tpm bucket to the real token count (in the shared store while it
        answers: a correction cannot tell which bucket took the estimate)."""
        if not key.tpm_limit or actual == estimated:
            return
        if self.shared is not None and self.shared.available():
            self._send("tokens", (key.id, key.tpm_limit, estimated, actual))
            return
        self.limiter.settle_tokens(key.id, key.tpm_limit, estimated, actual, self.clock())

    # -- budgets ---------------------------------------------------------------------------
    def reserve(self, key: KeyInfo, estimate: Decimal | None, at: datetime) -> Decimal:
        """Hold the estimate (0 when unknown) against this process's view of the key's
        budget; return what was held. Raises BudgetExceededError when it does not fit."""
        if key.budget_usd is None or not key.budget_period:
            return ZERO
        amount = estimate or ZERO
        if not self.budgets.reserve(key.id, key.budget_usd, key.budget_period, at, amount):
            left = self.budgets.remaining(key.id, key.budget_usd, key.budget_period, at)
            raise _budget_error(key, left, amount)
        return amount

    async def areserve(self, key: KeyInfo, estimate: Decimal | None, at: datetime) -> Decimal:
        """``reserve`` against the shared budget when there is a store (a ``SharedHold``),
        else (or when the store is away) against this process's."""
        if key.budget_usd is None or not key.budget_period:
            return ZERO
        shared = self.shared
        if shared is None:
            return self.reserve(key, estimate, at)
        amount = estimate or ZERO
        if shared.available():
            seed = self.budgets.spent.get((key.id, budget_period_key(key.budget_period, at)), ZERO)
            try:
                verdict = await shared.reserve(key.id, key.budget_usd, key.budget_period, at, amount, seed)
            except SharedLimitsUnavailable:
                pass
            else:
                self._answered()
                if not verdict.allowed:
                    raise _budget_error(key, key.budget_usd - verdict.spent - verdict.reserved, amount)
                return SharedHold(amount)
        self._fell_back("reserve")
        return self.reserve(key, estimate, at)

    def settle(self, key: KeyInfo, held: Decimal, charge: Decimal | None, at: datetime) -> None:
        """Replace the held estimate with the exact charge (the upstream's usage.cost, else
        our estimate, else nothing). With a store, the charge goes there too (and the hold
        is released there when it was held there)."""
        if key.budget_usd is None or not key.budget_period:
            return
        in_store = isinstance(held, SharedHold)
        charge = charge or ZERO
        self.budgets.settle(key.id, key.budget_period, at, ZERO if in_store else held, charge)
        if self.shared is not None and (in_store and held or charge):
            self._send("settle", (key.id, key.budget_period, at, held if in_store else ZERO, charge))

    def _send(self, kind: str, item: tuple) -> None:
        """Queue a settlement for the store; one task sends the queue in pipelined batches."""
        away = not self.shared.available()
        self._outbox.append([kind, item, away])  # [kind, arguments, counted as a fallback]
        if away:
            self._fell_back(_OPS[kind])
        elif not self._draining:
            self._draining = True
            self._spawn(self._drain(), on_fail=self._stop_draining)

    def _stop_draining(self) -> None:
        self._draining = False

    async def _drain(self) -> None:
        """Send queued settlements, oldest first, until none are left or the store fails
        (then they wait, bounded, for the next answer from the store)."""
        try:
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 256))]
                try:
                    await self.shared.apply([(kind, item) for kind, item, _ in batch])
                except SharedLimitsUnavailable:
                    self._outbox.extendleft(reversed(batch))
                    for entry in batch:  # each settlement counts once, however often it is resent
                        if not entry[2]:
                            entry[2] = True
                            self._fell_back(_OPS[entry[0]])
                    return
        finally:
            self._draining = False

    def load_spend(self, key: KeyInfo, amount: Decimal, at: datetime) -> None:
        """The period's spend read from the ledger; with a store, it seeds the shared slot
        unless another process seeded it first."""
        if not key.budget_period:
            return
        self.budgets.load(key.id, key.budget_period, at, amount)
        if self.shared is not None:
            self._spawn(self._seed(key.id, key.budget_period, at, amount))

    async def _seed(self, key_id: str, period: str, at: datetime, amount: Decimal) -> None:
        try:
            await self.shared.seed(key_id, period, at, amount)
        except SharedLimitsUnavailable:
            self._fell_back("seed")  # the next reservation seeds the slot from this process

    # -- housekeeping ------------------------------------------------------------------------
    def queued(self) -> int:
        return sum(self.waiting.values())

    def backlog(self) -> int:
        return len(self._outbox)

    def _answered(self) -> None:
        if self._outbox and not self._draining:
            self._draining = True
            self._spawn(self._drain(), on_fail=self._stop_draining)

    def _fell_back(self, op: str) -> None:
        if self.on_fallback is not None:
            self.on_fallback(op)

    def _spawn(self, work: Coroutine[Any, Any, None], on_fail: Callable[[], None] | None = None) -> None:
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:  # no running loop (a synchronous caller): the store is skipped
            work.close()
            if on_fail is not None:
                on_fail()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait (bounded) for the store calls in flight: settlements, seeds."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def close(self, timeout: float = 2.0) -> None:
        """Let pending store calls finish (bounded), then close the store's connections."""
        await self.flush(timeout)
        if self.shared is not None:
            await self.shared.close()


def _budget_error(key: KeyInfo, left: Decimal, amount: Decimal) -> BudgetExceededError:
    return BudgetExceededError(
        f"this API key's {key.budget_period}ly budget of ${key.budget_usd} would be exceeded: "
        f"${max(left, ZERO)} left, this request is estimated at ${amount}"
    )


_ALLOWED = Admission(True)
_OPS = {"settle": "settle", "tokens": "settle_tokens"}

__all__ = ["AdmissionControl", "SharedHold", "queue_verdict", "rate_limit_error"]
