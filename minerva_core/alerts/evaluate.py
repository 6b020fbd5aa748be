"""Pure: observations + rules + the recent events of their fingerprints -> the events to fire.

Firing, per rule and observation:

* disabled rules and system subscriptions (metric ``system.events``) never fire here;
* the comparison must hold (rules.holds: exact, ``gt`` does not fire at equality);
* de-dup: one event per fingerprint per evaluation, and none while the fingerprint is
  cooling down (rules.cooldown_over: ``now - last >= cooldown_seconds`` fires again);
* muting (``muted_until`` in the future) records the event with delivery_status ``muted``
  rather than dropping it, so the history shows what happened during a mute. Muted events
  throttle further muted events by the cooldown, but they do not hold back a deliverable
  one: when the mute ends, a condition that still holds is delivered at the next run, not a
  cooldown later. Only non-muted events hold back deliverable ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from minerva_core.alerts.rules import (
    SYMBOLS,
    AlertRule,
    Observation,
    cooldown_over,
    describe,
    fingerprint,
    holds,
)


@dataclass(frozen=True)
class PastEvent:
    """The latest event of a fingerprint, muted ones apart (as store.last_events reads them)."""

    fingerprint: str
    fired_at: datetime
    muted: bool = False


@dataclass(frozen=True)
class NewEvent:
    """An alert_events row to insert."""

    rule_id: int
    kind: str
    fingerprint: str
    severity: str
    message: str
    observed_value: Decimal
    threshold: Decimal
    fired_at: datetime
    delivery_status: str = "pending"
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A rule whose comparison holds for an observation, before cooldown and de-dup."""

    rule: AlertRule
    observation: Observation
    fingerprint: str


def candidates(
    rules: Iterable[AlertRule], observations: Mapping[int, Sequence[Observation]]
) -> list[Candidate]:
    """Every (enabled rule, observation) whose comparison holds, one per fingerprint."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for rule in rules:
        if not rule.enabled or rule.is_subscription:
            continue
        for obs in observations.get(rule.id, ()):
            if not holds(obs.value, rule.comparison, rule.threshold):
                continue
            fp = fingerprint(rule.id, obs.subject)
            if fp in seen:
                continue
            seen.add(fp)
            out.append(Candidate(rule, obs, fp))
    return out


def decide(
    rules: Iterable[AlertRule],
    observations: Mapping[int, Sequence[Observation]],
    history: Iterable[PastEvent],
    now: datetime,
) -> list[NewEvent]:
    """The events to insert now. ``history`` needs the latest muted and the latest non-muted
    event of each candidate's fingerprint (older ones change nothing)."""
    last_live: dict[str, datetime] = {}
    last_any: dict[str, datetime] = {}
    for past in history:
        _keep_latest(last_any, past.fingerprint, past.fired_at)
        if not past.muted:
            _keep_latest(last_live, past.fingerprint, past.fired_at)
    events = []
    for cand in candidates(rules, observations):
        rule = cand.rule
        muted = rule.is_muted(now)
        last = last_any.get(cand.fingerprint) if muted else last_live.get(cand.fingerprint)
        if not cooldown_over(last, now, rule.cooldown_seconds):
            continue
        events.append(_event(cand, now, "muted" if muted else "pending"))
    return events


def _keep_latest(latest: dict[str, datetime], key: str, when: datetime) -> None:
    if key not in latest or when > latest[key]:
        latest[key] = when


def message_for(rule: AlertRule, obs: Observation) -> str:
    """e.g. "errors.rate [provider=Together] is 0.25 (>= 0.2)"; channels title it with the
    rule's name and severity."""
    about = ", ".join(f"{k}={v}" for k, v in sorted(obs.subject.items()))
    where = f" [{about}]" if about else ""
    return f"{rule.metric}{where} is {describe(obs.value)} ({SYMBOLS[rule.comparison]} {describe(rule.threshold)})"


def _event(cand: Candidate, now: datetime, status: str) -> NewEvent:
    rule, obs = cand.rule, cand.observation
    payload = {
        "rule": rule.name,
        "metric": rule.metric,
        "comparison": rule.comparison,
        "subject": dict(obs.subject),
        "scope": dict(rule.scope),
        "window_seconds": rule.window_seconds,
        "details": dict(obs.details),
    }
    if status == "muted":
        payload["muted_until"] = rule.muted_until.isoformat() if rule.muted_until else None
    return NewEvent(
        rule_id=rule.id,
        kind=rule.metric,
        fingerprint=cand.fingerprint,
        severity=rule.severity,
        message=message_for(rule, obs),
        observed_value=obs.value,
        threshold=rule.threshold,
        fired_at=now,
        delivery_status=status,
        payload=payload,
    )
