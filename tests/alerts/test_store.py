"""Overlapping runs on real PostgreSQL: firing is serialised (no fingerprint fired twice),
a claimed event is invisible to another run until its delivery is recorded, and failed
events are offered again only while they have tries left."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from minerva_core.alerts import store
from minerva_core.alerts.rules import AlertRule, Observation
from minerva_core.alerts_system import raise_system_alert
from tests.alerts.data import NOW, add_rule


def test_two_overlapping_evaluations_fire_a_fingerprint_once(alerts_db):
    with alerts_db.begin() as conn:
        rule_id = add_rule(conn, "spend", "spend.total_usd", "1")
    rule = AlertRule(id=rule_id, name="spend", metric="spend.total_usd", threshold=Decimal(1), comparison="gte")
    observations = {rule_id: [Observation(Decimal(5))]}
    second: list = []
    with alerts_db.begin() as first_conn:
        assert len(store.fire(first_conn, [rule], observations, NOW)) == 1

        def other_run() -> None:
            with alerts_db.begin() as conn:
                second.extend(store.fire(conn, [rule], observations, NOW + timedelta(seconds=1)))

        thread = threading.Thread(target=other_run)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the second evaluation should wait for the first one's lock"
    thread.join(10)
    assert second == []
    with alerts_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alert_events")).scalar() == 1


def test_a_claimed_event_is_skipped_by_another_run(alerts_db):
    with alerts_db.begin() as conn:
        event_id = raise_system_alert(conn, kind="sync.failed", severity="warning", message="m", fingerprint="f")
    with alerts_db.begin() as holder:
        assert store.claim(holder, event_id, max_attempts=3) is not None
        with alerts_db.begin() as other:
            assert store.claim(other, event_id, max_attempts=3) is None
        store.record_delivery(holder, event_id, status="failed", attempts=2, error="webhook to h answered 503", at=NOW)
    with alerts_db.begin() as conn:
        assert store.deliverable_ids(conn, max_attempts=3) == [event_id]
        assert store.deliverable_ids(conn, max_attempts=2) == []
        event = store.claim(conn, event_id, max_attempts=3)
        assert (event.delivery_status, event.delivery_attempts) == ("failed", 2)
        store.record_delivery(conn, event_id, status="delivered", attempts=1, error=None, at=NOW)
    with alerts_db.connect() as conn:
        row = conn.execute(text("SELECT * FROM alert_events WHERE id = :id"), {"id": event_id}).mappings().one()
    assert (row["delivery_status"], row["delivery_attempts"], row["delivery_error"]) == ("delivered", 3, None)
    assert row["delivered_at"] == NOW
