"""The alerts flow end to end under Prefect's test harness: rules and ledger rows on real
PostgreSQL -> events -> a real local webhook receiver; system events (raise_system_alert)
delivered too; statuses, tries and errors recorded; nothing sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from minerva_core.alerts_system import raise_system_alert
from tests.alerts.data import NOW, add_ledger, add_rule

pytestmark = pytest.mark.slow

TOKEN = "T0/B0/hushhushtoken"


@pytest.fixture()
def flow_db(alerts_db_url, monkeypatch):
    from flows import _runtime

    monkeypatch.setenv("MINERVA_DATABASE_URL", alerts_db_url)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    engine = create_engine(alerts_db_url)
    try:
        yield engine
    finally:
        engine.dispose()
        _runtime.engine_for(alerts_db_url).dispose()  # the flow's pooled engine for this database
        _runtime.engine_for.cache_clear()


def _events(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT coalesce(r.name, e.kind) AS name, e.* FROM alert_events e "
                "LEFT JOIN alert_rules r ON r.id = e.rule_id ORDER BY e.id"
            )
        ).mappings().all()
    out: dict[str, dict] = {}
    for row in rows:
        out.setdefault(row["name"], []).append(dict(row))
    return out


def test_rules_and_system_events_are_fired_and_delivered(prefect_harness, flow_db, webhook_receiver):
    from flows.alerts import alerts

    hook = webhook_receiver.url
    webhook_receiver.script["/rule"] = [500, 200]
    webhook_receiver.script[f"/down/{TOKEN}"] = [500] * 20
    fast = {"backoff_seconds": 0, "max_attempts": 2}
    with flow_db.begin() as conn:
        add_ledger(conn, NOW - timedelta(hours=1), cost="2.5")
        add_rule(conn, "team spend", "spend.total_usd", "2", channel="webhook", channel_config={"url": f"{hook}/rule", **fast})
        add_rule(conn, "muted spend", "spend.total_usd", "1", channel="webhook",
                 channel_config={"url": f"{hook}/muted"}, muted_until=NOW + timedelta(hours=1))
        add_rule(conn, "down hook", "spend.total_usd", "0", channel="webhook",
                 channel_config={"url": f"{hook}/down/{TOKEN}", **fast})
        add_rule(conn, "quiet", "spend.total_usd", "100", channel="webhook", channel_config={"url": f"{hook}/quiet"})
        add_rule(conn, "broken", "spend.total_usd", "1", scope={"modle": "typo"})
        add_rule(conn, "ops", "system.events", "0", channel="webhook", channel_config={"url": f"{hook}/system", **fast})
        raise_system_alert(conn, kind="catalog.quarantined", severity="critical",
                           message="discover batch quarantined by the data-quality gate: prices missing",
                           fingerprint="catalog.quarantined:snap1", payload={"sync_job_id": "j1"})

    first = alerts(now=NOW)
    assert first["fired"] == 3 and first["fired_muted"] == 1
    assert first["broken_rules"] == ["broken"]
    assert (first["delivered"], first["failed"]) == (3, 1)  # team spend, quarantine, rule error; down hook

    rule_bodies = webhook_receiver.bodies("/rule")
    assert len(rule_bodies) == 2 and rule_bodies[0] == rule_bodies[1]  # 500, then retried: 200
    assert rule_bodies[0]["text"].startswith("[WARNING] team spend: spend.total_usd is 2.5 (&gt;= 2)")
    system_texts = sorted(b["text"] for b in webhook_receiver.bodies("/system"))
    assert len(system_texts) == 2
    assert system_texts[0].startswith("[CRITICAL] catalog.quarantined: discover batch quarantined")
    assert system_texts[1].startswith("[WARNING] broken: alert rule 'broken': scope keys ['modle'] are not known")
    assert webhook_receiver.bodies("/muted") == [] and webhook_receiver.bodies("/quiet") == []

    events = _events(flow_db)
    (spend,) = events["team spend"]
    assert (spend["delivery_status"], spend["delivery_attempts"]) == ("delivered", 2)
    assert spend["delivered_at"] is not None and spend["delivery_error"] is None
    assert events["muted spend"][0]["delivery_status"] == "muted"
    (down,) = events["down hook"]
    assert (down["delivery_status"], down["delivery_attempts"]) == ("failed", 2)
    assert "127.0.0.1 answered 500" in down["delivery_error"] and "hush" not in down["delivery_error"]
    (quarantine,) = events["catalog.quarantined"]
    assert (quarantine["source"], quarantine["delivery_status"], quarantine["delivery_attempts"]) == ("system", "delivered", 1)

    # A minute later: nothing new fires (cooldown), the broken rule is not re-reported,
    # delivered events are not re-sent, the failed one is tried again.
    second = alerts(now=NOW + timedelta(seconds=60))
    assert (second["fired"], second["delivered"], second["failed"]) == (0, 0, 1)
    assert len(webhook_receiver.bodies("/rule")) == 2 and len(webhook_receiver.bodies("/system")) == 2
    events = _events(flow_db)
    assert events["down hook"][0]["delivery_attempts"] == 4
    assert len(events["alerts.rule_error"]) == 1

    # The hourly discover re-raising the same quarantined snapshot is suppressed.
    with flow_db.begin() as conn:
        raise_system_alert(conn, kind="catalog.quarantined", severity="critical", message="again",
                           fingerprint="catalog.quarantined:snap1")
    third = alerts(now=NOW + timedelta(seconds=120), max_delivery_attempts=4)
    assert third["suppressed"] == 1 and third["failed"] == 0  # down hook has used its 4 tries
    assert [e["delivery_status"] for e in _events(flow_db)["catalog.quarantined"]] == ["delivered", "suppressed"]
    assert len(webhook_receiver.bodies("/system")) == 2

    # After the cooldown the still-true rules fire again and are delivered once more.
    fourth = alerts(now=NOW + timedelta(seconds=600), deliver_events=True)
    assert (fourth["fired"], fourth["fired_muted"]) == (3, 1)  # muted spend is recorded muted again
    assert len(webhook_receiver.bodies("/rule")) == 3
