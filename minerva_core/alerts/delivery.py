"""Delivering an alert event: where it goes (plan, pure) and sending it there (send).

Routing:

* a rule's event goes to its rule's channel; if the rule is muted now it is marked ``muted``
  and not sent (it fired before the mute began);
* a system event (raise_system_alert: quarantined batches, ...) and an event whose rule was
  deleted go to every enabled subscription rule (metric ``system.events``; scope
  ``{"kinds": [...], "min_severity": ...}``, both optional) that matches it; with no
  matching subscription, to the log channel, so a system event is never silently dropped;
  all matching subscriptions muted -> ``muted``;
* a system event whose fingerprint was already delivered less than
  ``system_cooldown_seconds`` before it fired is marked ``suppressed`` (the hourly discover
  run re-raising the same quarantined snapshot says nothing new).

Delivery is at least once: an event sent to several targets where one failed is retried
whole by a later run (``failed`` with tries left), so the others may see it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Mapping, Sequence

from sqlalchemy import Connection

from minerva_core.alerts import store
from minerva_core.alerts.channels.base import AlertMessage, Channel
from minerva_core.alerts.rules import SEVERITY_RANK, AlertRule
from minerva_core.alerts.store import StoredEvent
from minerva_core.errors import AlertDeliveryError

Action = Literal["send", "muted", "suppressed"]


@dataclass(frozen=True)
class Target:
    channel: str
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    via: str = "default"


@dataclass(frozen=True)
class Plan:
    action: Action
    targets: tuple[Target, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: Literal["delivered", "failed", "muted", "suppressed"]
    attempts: int = 0
    error: str | None = None


DEFAULT_TARGET = Target("log", {}, "default log channel")


def subscribed(rule: AlertRule, event: StoredEvent) -> bool:
    """Whether a system.events subscription rule wants this event."""
    if not rule.enabled or not rule.is_subscription:
        return False
    kinds = rule.scope.get("kinds")
    if kinds is not None and event.kind not in ([kinds] if isinstance(kinds, str) else kinds):
        return False
    floor = SEVERITY_RANK.get(str(rule.scope.get("min_severity", "info")), 0)
    return SEVERITY_RANK.get(event.severity, 2) >= floor


def plan(
    event: StoredEvent,
    subscriptions: Sequence[AlertRule],
    *,
    previous_delivered_at: datetime | None,
    now: datetime,
    system_cooldown_seconds: int = 3600,
) -> Plan:
    rule = event.rule
    if rule is not None and not rule.is_subscription:
        if rule.is_muted(now):
            return Plan("muted", reason=f"rule {rule.name} muted until {rule.muted_until.isoformat()}")
        return Plan("send", (Target(rule.channel, rule.channel_config, rule.name),))
    if previous_delivered_at is not None and event.fired_at - previous_delivered_at < timedelta(
        seconds=system_cooldown_seconds
    ):
        return Plan("suppressed", reason=f"same fingerprint delivered at {previous_delivered_at.isoformat()}")
    matching = [s for s in subscriptions if subscribed(s, event)]
    if not matching:
        return Plan("send", (DEFAULT_TARGET,))
    live = [s for s in matching if not s.is_muted(now)]
    if not live:
        return Plan("muted", reason="every matching subscription is muted")
    return Plan("send", tuple(Target(s.channel, s.channel_config, s.name) for s in live))


def message_of(event: StoredEvent) -> AlertMessage:
    rule = event.rule
    return AlertMessage(
        event_id=event.id, source=event.source, kind=event.kind, severity=event.severity,
        message=event.message, fired_at=event.fired_at,
        rule_name=rule.name if rule is not None and not rule.is_subscription else event.payload.get("rule"),
        observed_value=event.observed_value, threshold=event.threshold, payload=dict(event.payload),
    )


def send(event: StoredEvent, delivery: Plan, channels: Mapping[str, Channel]) -> Outcome:
    """Send to every target of the plan; delivered only when all of them took it."""
    if delivery.action != "send":
        return Outcome(delivery.action, 0, delivery.reason)
    alert = message_of(event)
    attempts, errors = 0, []
    for target in delivery.targets:
        channel = channels.get(target.channel)
        if channel is None:
            errors.append(f"{target.via}: no channel {target.channel!r}")
            continue
        try:
            attempts += channel.send(alert, target.config)
        except AlertDeliveryError as exc:
            attempts += exc.attempts
            errors.append(f"{target.via} ({target.channel}): {exc}")
        except Exception as exc:  # a channel bug must not stop the other events; no message:
            attempts += 1  # foreign exception text may quote a URL with its token
            errors.append(f"{target.via} ({target.channel}): unexpected {exc.__class__.__name__}")
    if errors:
        return Outcome("failed", attempts, "; ".join(errors)[:2000])
    return Outcome("delivered", attempts, None)


def deliver_one(
    conn: Connection,
    event_id: int,
    *,
    channels: Mapping[str, Channel],
    now: datetime,
    max_attempts: int,
    system_cooldown_seconds: int = 3600,
) -> Outcome | None:
    """Claim one event (row-locked for this transaction), plan, send, record the outcome.
    None when another run holds it or it is no longer deliverable. Channel settings are read
    here, from the table, so they never travel through task inputs."""
    event = store.claim(conn, event_id, max_attempts=max_attempts)
    if event is None:
        return None
    routed_as_system = event.rule is None or event.source == "system"
    subscriptions = store.load_subscriptions(conn) if routed_as_system else []
    previous = store.previous_delivery(conn, event) if routed_as_system else None
    delivery = plan(
        event, subscriptions, previous_delivered_at=previous, now=now,
        system_cooldown_seconds=system_cooldown_seconds,
    )
    outcome = send(event, delivery, channels)
    store.record_delivery(
        conn, event.id, status=outcome.status, attempts=outcome.attempts, error=outcome.error, at=now
    )
    return outcome
