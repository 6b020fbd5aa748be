"""alert_rules and alert_events in PostgreSQL: read rules, insert de-duplicated events under a
lock, and claim/record deliveries. Stores as-is; the decisions live in evaluate.py and
delivery.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping, Sequence

from sqlalchemy import Connection, text

from minerva_core.alerts.evaluate import NewEvent, PastEvent, candidates, decide
from minerva_core.alerts.rules import SYSTEM_SUBSCRIPTION, AlertRule, Observation

# pg_advisory_xact_lock key: one evaluation inserts at a time, so two overlapping runs
# cannot both fire the same fingerprint.
_FIRE_LOCK = 7_231_442_951

_RULE_COLUMNS = (
    "id, name, metric, scope, comparison, threshold, window_seconds, cooldown_seconds, "
    "severity, channel, channel_config, enabled, muted_until"
)


@dataclass(frozen=True)
class StoredEvent:
    """An alert_events row to deliver, with its rule (None for system events and for events
    whose rule was deleted)."""

    id: int
    source: str
    kind: str
    fingerprint: str
    severity: str
    message: str
    observed_value: Decimal | None
    threshold: Decimal | None
    fired_at: datetime
    delivery_status: str
    delivery_attempts: int
    payload: dict[str, Any] = field(default_factory=dict)
    rule: AlertRule | None = None


def rule_from_row(row: Mapping[str, Any]) -> AlertRule:
    return AlertRule(
        id=row["id"], name=row["name"], metric=row["metric"], threshold=Decimal(row["threshold"]),
        comparison=row["comparison"], scope=dict(row["scope"] or {}),
        window_seconds=row["window_seconds"], cooldown_seconds=row["cooldown_seconds"],
        severity=row["severity"], channel=row["channel"],
        channel_config=dict(row["channel_config"] or {}), enabled=row["enabled"],
        muted_until=row["muted_until"],
    )


def load_rules(conn: Connection, *, enabled_only: bool = True) -> list[AlertRule]:
    where = " WHERE enabled" if enabled_only else ""
    rows = conn.execute(text(f"SELECT {_RULE_COLUMNS} FROM alert_rules{where} ORDER BY id")).mappings()
    return [rule_from_row(row) for row in rows]


def load_subscriptions(conn: Connection) -> list[AlertRule]:
    """Enabled system.events rules: where system events go (see delivery.plan)."""
    rows = conn.execute(
        text(f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE enabled AND metric = :metric ORDER BY id"),
        {"metric": SYSTEM_SUBSCRIPTION},
    ).mappings()
    return [rule_from_row(row) for row in rows]


def last_events(conn: Connection, fingerprints: Sequence[str]) -> list[PastEvent]:
    """The latest muted and the latest non-muted event of each fingerprint."""
    if not fingerprints:
        return []
    rows = conn.execute(
        text(
            "SELECT fingerprint, delivery_status = 'muted' AS muted, max(fired_at) AS fired_at "
            "FROM alert_events WHERE fingerprint = ANY(:fps) GROUP BY 1, 2"
        ),
        {"fps": list(fingerprints)},
    )
    return [PastEvent(fp, fired_at, muted) for fp, muted, fired_at in rows]


def fire(
    conn: Connection,
    rules: Sequence[AlertRule],
    observations: Mapping[int, Sequence[Observation]],
    now: datetime,
) -> list[tuple[int, NewEvent]]:
    """Decide and insert the events due now, in the caller's transaction, holding a lock
    that serialises concurrent evaluations; return (id, event) of each row inserted."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRE_LOCK})
    fps = [c.fingerprint for c in candidates(rules, observations)]
    events = decide(rules, observations, last_events(conn, fps), now)
    return [(insert_event(conn, event), event) for event in events]


def insert_event(conn: Connection, event: NewEvent) -> int:
    return conn.execute(
        text(
            "INSERT INTO alert_events (rule_id, source, kind, fingerprint, severity, message, "
            "observed_value, threshold, payload, fired_at, delivery_status) VALUES (:rule_id, "
            "'rule', :kind, :fingerprint, :severity, :message, :observed, :threshold, "
            "CAST(:payload AS jsonb), :fired_at, :status) RETURNING id"
        ),
        {
            "rule_id": event.rule_id, "kind": event.kind, "fingerprint": event.fingerprint,
            "severity": event.severity, "message": event.message, "observed": event.observed_value,
            "threshold": event.threshold, "payload": json.dumps(event.payload, default=str),
            "fired_at": event.fired_at, "status": event.delivery_status,
        },
    ).scalar_one()


_DELIVERABLE = "(e.delivery_status = 'pending' OR (e.delivery_status = 'failed' AND e.delivery_attempts < :max_attempts))"


def deliverable_ids(conn: Connection, *, max_attempts: int, limit: int = 500) -> list[int]:
    """Events to (re)deliver, oldest first: pending ones, and failed ones with tries left."""
    rows = conn.execute(
        text(f"SELECT e.id FROM alert_events e WHERE {_DELIVERABLE} ORDER BY e.fired_at, e.id LIMIT :limit"),
        {"max_attempts": max_attempts, "limit": limit},
    )
    return [row[0] for row in rows]


def claim(conn: Connection, event_id: int, *, max_attempts: int) -> StoredEvent | None:
    """Lock one deliverable event for this transaction (FOR UPDATE SKIP LOCKED), with its
    rule. None when it is gone, already delivered, or being delivered by another run: the
    row lock is held while the channel is called, so no two runs send the same event."""
    row = conn.execute(
        text(
            f"SELECT e.id, e.source, e.kind, e.fingerprint, e.severity, e.message, e.observed_value, "
            f"e.threshold, e.fired_at, e.delivery_status, e.delivery_attempts, e.payload, "
            f"r.id AS r_id, r.name AS r_name, r.metric AS r_metric, r.scope AS r_scope, "
            f"r.comparison AS r_comparison, r.threshold AS r_threshold, r.window_seconds AS r_window_seconds, "
            f"r.cooldown_seconds AS r_cooldown_seconds, r.severity AS r_severity, r.channel AS r_channel, "
            f"r.channel_config AS r_channel_config, r.enabled AS r_enabled, r.muted_until AS r_muted_until "
            f"FROM alert_events e LEFT JOIN alert_rules r ON r.id = e.rule_id "
            f"WHERE e.id = :id AND {_DELIVERABLE} FOR UPDATE OF e SKIP LOCKED"
        ),
        {"id": event_id, "max_attempts": max_attempts},
    ).mappings().first()
    if row is None:
        return None
    rule = None
    if row["r_id"] is not None:
        rule = rule_from_row({k[2:]: v for k, v in row.items() if k.startswith("r_")})
    return StoredEvent(
        id=row["id"], source=row["source"], kind=row["kind"], fingerprint=row["fingerprint"],
        severity=row["severity"], message=row["message"], observed_value=row["observed_value"],
        threshold=row["threshold"], fired_at=row["fired_at"], delivery_status=row["delivery_status"],
        delivery_attempts=row["delivery_attempts"], payload=dict(row["payload"] or {}), rule=rule,
    )


def previous_delivery(conn: Connection, event: StoredEvent) -> datetime | None:
    """fired_at of the latest earlier delivered event of the same fingerprint."""
    return conn.execute(
        text(
            "SELECT max(fired_at) FROM alert_events WHERE fingerprint = :fp AND id <> :id "
            "AND delivery_status = 'delivered' AND fired_at <= :fired_at"
        ),
        {"fp": event.fingerprint, "id": event.id, "fired_at": event.fired_at},
    ).scalar()


def record_delivery(
    conn: Connection, event_id: int, *, status: str, attempts: int, error: str | None, at: datetime
) -> None:
    """Write the outcome: status, attempts added to the count, the error (None clears it)."""
    conn.execute(
        text(
            "UPDATE alert_events SET delivery_status = :status, "
            "delivery_attempts = delivery_attempts + :attempts, delivery_error = :error, "
            "delivered_at = CASE WHEN :status = 'delivered' THEN CAST(:at AS timestamptz) END "
            "WHERE id = :id"
        ),
        {"id": event_id, "status": status, "attempts": attempts, "error": error, "at": at},
    )


def report_broken_rule(conn: Connection, name: str, error: str, *, now: datetime, cooldown_seconds: int) -> bool:
    """A system event "alerts.rule_error" for a rule that cannot be measured, at most one per
    cooldown (the flow runs every minute). Stamped with the flow's clock, like rule events.
    Returns whether one was raised."""
    fingerprint = f"alerts.rule_error:{name}"
    recent = conn.execute(
        text("SELECT 1 FROM alert_events WHERE fingerprint = :fp AND fired_at > :since AND fired_at <= :now LIMIT 1"),
        {"fp": fingerprint, "since": now - timedelta(seconds=cooldown_seconds), "now": now},
    ).first()
    if recent is not None:
        return False
    conn.execute(
        text(
            "INSERT INTO alert_events (source, kind, fingerprint, severity, message, payload, fired_at) "
            "VALUES ('system', 'alerts.rule_error', :fp, 'warning', :message, CAST(:payload AS jsonb), :now)"
        ),
        {"fp": fingerprint, "message": f"{error}; the rule is skipped until it is fixed"[:1000],
         "payload": json.dumps({"rule": name}), "now": now},
    )
    return True
