"""Admission control, pure and clock-injected: per-key rate limits (requests and tokens per
minute, as token buckets), budgets per day or month, and per-model cooldowns.

State is in process memory; a deployment with several proxy processes shares rate limits
and budgets through the store behind `minerva_core.shared_limits` instead (same decisions).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal


@dataclass
class TokenBucket:
    """`capacity` units, refilled continuously at capacity per `period` seconds."""

    capacity: float
    period: float = 60.0
    level: float | None = None  # None: never used (full); below 0 after a settled overrun
    updated: float = 0.0

    def _refill(self, now: float) -> None:
        if self.level is None:
            self.level, self.updated = self.capacity, now
            return
        rate = self.capacity / self.period
        self.level = min(self.capacity, self.level + max(0.0, now - self.updated) * rate)
        self.updated = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until `amount` could be taken (0 if now); takes nothing."""
        self._refill(now)
        amount = min(amount, self.capacity)
        if self.level >= amount:
            return 0.0
        return (amount - self.level) * self.period / self.capacity

    def take(self, amount: float, now: float) -> None:
        self._refill(now)
        self.level -= min(amount, self.capacity)

    def give_back(self, amount: float, now: float) -> None:
        self._refill(now)
        self.level = min(self.capacity, self.level + amount)


@dataclass(frozen=True)
class Admission:
    allowed: bool
    retry_after: float = 0.0
    reason: str | None = None  # rpm | tpm


@dataclass
class RateLimiter:
    """Requests-per-minute and tokens-per-minute per key."""

    buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)

    def _bucket(self, key_id: str, kind: str, limit: int) -> TokenBucket:
        bucket = self.buckets.get((key_id, kind))
        if bucket is None or bucket.capacity != limit:
            bucket = self.buckets[(key_id, kind)] = TokenBucket(float(limit))
        return bucket

    def admit(self, key_id: str, rpm: int | None, tpm: int | None, tokens: int, now: float) -> Admission:
        """Take one request and `tokens` (estimated) if both fit; else say how long to wait."""
        waits = []
        if rpm:
            waits.append((self._bucket(key_id, "rpm", rpm).wait_for(1, now), "rpm"))
        if tpm:
            waits.append((self._bucket(key_id, "tpm", tpm).wait_for(tokens, now), "tpm"))
        blocking = [(w, why) for w, why in waits if w > 0]
        if blocking:
            wait, why = max(blocking)
            return Admission(False, wait, why)
        if rpm:
            self._bucket(key_id, "rpm", rpm).take(1, now)
        if tpm:
            self._bucket(key_id, "tpm", tpm).take(tokens, now)
        return Admission(True)

    def settle_tokens(self, key_id: str, tpm: int | None, estimated: int, actual: int, now: float) -> None:
        """Correct the token bucket once the real token count is known."""
        if not tpm:
            return
        bucket = self._bucket(key_id, "tpm", tpm)
        if actual > estimated:
            bucket.take(actual - estimated, now)
        elif estimated > actual:
            bucket.give_back(estimated - actual, now)


def budget_period_key(period: str, at: datetime) -> str:
    at = at.astimezone(timezone.utc)
    return at.strftime("%Y-%m-%d") if period == "day" else at.strftime("%Y-%m")


def period_start(period: str, at: datetime) -> datetime:
    at = at.astimezone(timezone.utc)
    if period == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def period_end(period: str, at: datetime) -> datetime:
    """The first instant of the next period (UTC day or month) after ``at``'s."""
    start = period_start(period, at)
    if period == "day":
        return start + timedelta(days=1)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


@dataclass
class BudgetTracker:
    """USD spent per key per period (UTC day or month), exact Decimal."""

    spent: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    reserved: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def load(self, key_id: str, period: str, at: datetime, amount: Decimal) -> None:
        self.spent[(key_id, budget_period_key(period, at))] = amount

    def remaining(self, key_id: str, budget: Decimal, period: str, at: datetime) -> Decimal:
        slot = (key_id, budget_period_key(period, at))
        return budget - self.spent.get(slot, Decimal(0)) - self.reserved.get(slot, Decimal(0))

    def reserve(self, key_id: str, budget: Decimal, period: str, at: datetime, estimate: Decimal) -> bool:
        """Hold `estimate` against the budget; False (nothing held) if it would go over."""
        if estimate > self.remaining(key_id, budget, period, at):
            return False
        slot = (key_id, budget_period_key(period, at))
        self.reserved[slot] = self.reserved.get(slot, Decimal(0)) + estimate
        return True

    def settle(self, key_id: str, period: str, at: datetime, estimate: Decimal, charge: Decimal) -> None:
        """Replace the held estimate by the exact charge."""
        slot = (key_id, budget_period_key(period, at))
        self.reserved[slot] = max(Decimal(0), self.reserved.get(slot, Decimal(0)) - estimate)
        self.spent[slot] = self.spent.get(slot, Decimal(0)) + charge


@dataclass
class Cooldowns:
    """A model that fails `threshold` times within `window` seconds is skipped for `cooldown`."""

    threshold: int = 3
    window: float = 30.0
    cooldown: float = 30.0
    failures: dict[str, deque] = field(default_factory=dict)
    until: dict[str, float] = field(default_factory=dict)

    def record_failure(self, model: str, now: float) -> bool:
        """Count a failure; True when it starts a cooldown."""
        times = self.failures.setdefault(model, deque())
        times.append(now)
        while times and times[0] < now - self.window:
            times.popleft()
        if len(times) >= self.threshold:
            self.until[model] = now + self.cooldown
            times.clear()
            return True
        return False

    def record_success(self, model: str) -> None:
        self.failures.pop(model, None)

    def cooling(self, now: float) -> frozenset[str]:
        expired = [m for m, t in self.until.items() if t <= now]
        for model in expired:
            del self.until[model]
        return frozenset(self.until)
