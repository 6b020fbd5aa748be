"""Where an event goes (delivery.plan) and what sending records (delivery.send), on literal
data with in-memory channels."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from minerva_core.alerts.delivery import DEFAULT_TARGET, Outcome, Plan, Target, plan, send
from minerva_core.alerts.rules import AlertRule
from minerva_core.alerts.store import StoredEvent
from minerva_core.errors import WebhookDeliveryError

T0 = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)


def _event(**kw) -> StoredEvent:
    base = dict(id=1, source="system", kind="catalog.quarantined", fingerprint="catalog.quarantined:abc",
                severity="critical", message="batch held", observed_value=None, threshold=None, fired_at=T0,
                delivery_status="pending", delivery_attempts=0, payload={}, rule=None)
    return StoredEvent(**{**base, **kw})


def _rule(id: int, name: str, metric: str = "spend.total_usd", **kw) -> AlertRule:
    return AlertRule(id=id, name=name, metric=metric, threshold=Decimal(0), **kw)


def _sub(id: int, name: str, **kw) -> AlertRule:
    return _rule(id, name, "system.events", channel="webhook", channel_config={"url": f"http://h/{name}"}, **kw)


def test_a_rule_event_goes_to_its_rule_channel_unless_the_rule_is_muted_now():
    rule = _rule(3, "spend", channel="email", channel_config={"host": "smtp"})
    event = _event(source="rule", kind="spend.total_usd", rule=rule)
    assert plan(event, [], previous_delivered_at=None, now=T0) == Plan("send", (Target("email", {"host": "smtp"}, "spend"),))
    muted = _rule(3, "spend", muted_until=T0 + timedelta(hours=1))
    assert plan(_event(source="rule", rule=muted), [], previous_delivered_at=None, now=T0).action == "muted"


def test_system_events_without_a_subscription_go_to_the_log():
    assert plan(_event(), [], previous_delivered_at=None, now=T0) == Plan("send", (DEFAULT_TARGET,))
    orphan = _event(source="rule", kind="errors.rate", rule=None)  # its rule was deleted
    assert plan(orphan, [], previous_delivered_at=None, now=T0).targets == (DEFAULT_TARGET,)


def test_system_events_go_to_every_matching_subscription():
    subs = [
        _sub(1, "all"),
        _sub(2, "catalog-only", scope={"kinds": ["catalog.quarantined"]}),
        _sub(3, "sync-only", scope={"kinds": "sync.failed"}),
        _sub(4, "critical-only", scope={"min_severity": "critical"}),
        _sub(5, "off", enabled=False),
        _sub(6, "muted", muted_until=T0 + timedelta(minutes=5)),
    ]
    targets = plan(_event(), subs, previous_delivered_at=None, now=T0).targets
    assert [t.via for t in targets] == ["all", "catalog-only", "critical-only"]
    warning = plan(_event(severity="warning"), subs, previous_delivered_at=None, now=T0).targets
    assert [t.via for t in warning] == ["all", "catalog-only"]
    only_muted = plan(_event(kind="x"), [subs[5]], previous_delivered_at=None, now=T0)
    assert only_muted.action == "muted"


def test_a_repeated_system_event_is_suppressed_within_the_system_cooldown():
    earlier = T0 - timedelta(minutes=30)
    assert plan(_event(), [], previous_delivered_at=earlier, now=T0, system_cooldown_seconds=3600).action == "suppressed"
    assert plan(_event(), [], previous_delivered_at=earlier, now=T0, system_cooldown_seconds=1800).action == "send"


class FakeChannel:
    def __init__(self, name: str, result) -> None:
        self.name, self.result, self.sent = name, result, []

    def send(self, alert, config) -> int:
        self.sent.append((alert, dict(config)))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_send_is_delivered_only_when_every_target_took_it():
    good = FakeChannel("log", 1)
    bad = FakeChannel("webhook", WebhookDeliveryError("webhook to h answered 503", attempts=3, status_code=503))
    two = Plan("send", (Target("log", {}, "a"), Target("webhook", {"url": "http://h/secret"}, "b")))
    outcome = send(_event(), two, {"log": good, "webhook": bad})
    assert outcome == Outcome("failed", 4, "b (webhook): webhook to h answered 503")
    assert good.sent[0][0].kind == "catalog.quarantined"
    assert send(_event(), Plan("send", (Target("log", {}, "a"),)), {"log": good}) == Outcome("delivered", 1)


def test_send_survives_a_broken_channel_without_quoting_it():
    broken = FakeChannel("webhook", RuntimeError("http://h/secret-token exploded"))
    outcome = send(_event(), Plan("send", (Target("webhook", {}, "b"),)), {"webhook": broken})
    assert outcome.status == "failed" and "secret" not in outcome.error and "RuntimeError" in outcome.error
    missing = send(_event(), Plan("send", (Target("sms", {}, "c"),)), {})
    assert missing.status == "failed" and "no channel 'sms'" in missing.error


def test_muted_and_suppressed_plans_send_nothing():
    channel = FakeChannel("log", 1)
    assert send(_event(), Plan("muted", reason="m"), {"log": channel}) == Outcome("muted", 0, "m")
    assert send(_event(), Plan("suppressed", reason="s"), {"log": channel}).status == "suppressed"
    assert channel.sent == []


def test_rule_repr_never_shows_channel_config():
    rule = _sub(1, "all")
    assert "http://h/" not in repr(rule)
    assert "http://h/" not in repr(Target("webhook", {"url": "http://h/x"}, "all"))
