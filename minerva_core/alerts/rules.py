"""Alert rules and the pure decisions about them: comparison, fingerprint, cooldown, periods,
and the budget burn-rate forecast. No I/O here: everything is tested on literal data.

Decisions (see also evaluate.py):

* A rule fires when ``value <comparison> threshold`` holds, compared exactly (Decimal):
  ``gt`` fires at value > threshold and not at equality; ``gte`` fires at equality too.
* The cooldown is measured from the last event of the same fingerprint: a new event is due
  when ``now - last >= cooldown_seconds`` (so at exactly the cooldown it fires again).
* The fingerprint is the rule id plus the observation's subject (the scope values it is
  about, e.g. one api key or one model): "the same alert" is the same rule about the same thing.
* Budget periods are UTC calendar days and months, as api_keys.budget_period documents.
"""

from __future__ import annotations

import hashlib
import json
import operator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Literal, Mapping

Comparison = Literal["gt", "gte", "lt", "lte", "eq", "ne"]
Severity = Literal["info", "warning", "critical"]

COMPARISONS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "ne": operator.ne,
}
SYMBOLS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "ne": "!="}
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

# Rules with this metric measure nothing: they subscribe a channel to system events
# (raise_system_alert: quarantined batches, failed syncs, ...). scope: {"kinds": [...],
# "min_severity": "warning"}, both optional.
SYSTEM_SUBSCRIPTION = "system.events"


@dataclass(frozen=True)
class AlertRule:
    """One alert_rules row. channel_config may hold secrets (a webhook URL with its token):
    it is left out of repr so that it never reaches a log line by accident."""

    id: int
    name: str
    metric: str
    threshold: Decimal
    comparison: Comparison = "gt"
    scope: dict[str, Any] = field(default_factory=dict)
    window_seconds: int = 3600
    cooldown_seconds: int = 3600
    severity: Severity = "warning"
    channel: str = "log"
    channel_config: dict[str, Any] = field(default_factory=dict, repr=False)
    enabled: bool = True
    muted_until: datetime | None = None

    def is_muted(self, now: datetime) -> bool:
        return self.muted_until is not None and self.muted_until > now

    @property
    def is_subscription(self) -> bool:
        return self.metric == SYSTEM_SUBSCRIPTION

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.window_seconds)


@dataclass(frozen=True)
class Observation:
    """One measured value of a rule's metric. ``subject`` names what it is about (e.g.
    {"api_key_id": "..."} or {"model": "openai/gpt-4o"}; {} for the whole scope) and makes
    the fingerprint; ``details`` are the supporting figures, kept in the event payload."""

    value: Decimal
    subject: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def holds(value: Decimal, comparison: str, threshold: Decimal) -> bool:
    """Whether ``value <comparison> threshold``; exact, no tolerance."""
    try:
        compare = COMPARISONS[comparison]
    except KeyError:
        raise ValueError(f"unknown comparison {comparison!r}") from None
    return compare(Decimal(value), Decimal(threshold))


def fingerprint(rule_id: int, subject: Mapping[str, Any]) -> str:
    """Stable id of "this rule about this subject": the de-dup and cooldown key."""
    canonical = json.dumps(dict(subject), sort_keys=True, separators=(",", ":"), default=str)
    return f"rule:{rule_id}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def cooldown_over(last_fired_at: datetime | None, now: datetime, cooldown_seconds: int) -> bool:
    """True when nothing fired yet, or at least cooldown_seconds have passed since."""
    if last_fired_at is None:
        return True
    return now - last_fired_at >= timedelta(seconds=cooldown_seconds)


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the UTC day or calendar month holding ``now``."""
    utc = now.astimezone(timezone.utc)
    if period == "day":
        start = utc.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    if period == "month":
        start = utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, end
    raise ValueError(f"unknown budget period {period!r}")


def elapsed_fraction(start: datetime, end: datetime, now: datetime) -> Decimal:
    """How much of [start, end) has passed at ``now``, exactly, clamped to [0, 1]."""
    micro = timedelta(microseconds=1)
    total = (end - start) // micro
    done = min(max((now - start) // micro, 0), total)
    return Decimal(done) / Decimal(total)


def budget_used(spent: Decimal, budget: Decimal) -> Decimal | None:
    """Fraction of the budget spent (1 = all of it). None for a zero budget: a key allowed
    nothing has no fraction to watch (the proxy refuses its requests)."""
    if budget <= 0:
        return None
    return Decimal(spent) / Decimal(budget)


def budget_forecast(
    spent: Decimal,
    budget: Decimal,
    start: datetime,
    end: datetime,
    now: datetime,
    min_elapsed: Decimal = Decimal("0.05"),
) -> Decimal | None:
    """Burn-rate forecast: the fraction of the budget that will be used at the period's end
    if the rest of the period spends at the average rate seen so far.

        elapsed  = (now - start) / (end - start)          in (0, 1]
        forecast = (spent / elapsed) / budget

    e.g. 5 USD of a 20 USD daily budget spent by noon: elapsed 0.5, forecast 0.5 (half the
    budget by midnight). Early in a period one request extrapolates wildly, so nothing is
    forecast until ``min_elapsed`` of the period has passed (default 5%: 72 minutes of a day,
    about a day and a half of a month); None then, and for a zero budget.
    """
    if budget <= 0:
        return None
    elapsed = elapsed_fraction(start, end, now)
    if elapsed <= 0 or elapsed < min_elapsed:
        return None
    return (Decimal(spent) / elapsed) / Decimal(budget)


def price_move_ratio(old: Decimal | None, new: Decimal | None) -> Decimal | None:
    """How far a price moved, the same both ways: max(new/old, old/new), so doubling and
    halving are both 2 and an unchanged price is 1. None when either side is missing or
    zero (free -> paid has no finite ratio; the count measure still sees that change)."""
    if old is None or new is None or old <= 0 or new <= 0:
        return None
    return max(new / old, old / new)


def describe(value: Decimal) -> str:
    """A short human form of a metric value for messages (the event keeps the exact one)."""
    value = Decimal(value)
    if not value.is_finite():
        return str(value)
    if value == value.to_integral_value():
        return f"{value.to_integral_value():f}"
    text = f"{value:.6g}" if abs(value) < Decimal("1e6") else f"{value:.4e}"
    return text
