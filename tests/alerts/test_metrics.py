"""Every metric kind on real PostgreSQL: the data inserted as the other parts write it, then
a rule at exactly the observed value fires once, a rule just past it does not (nor the strict
comparison at equality), a second evaluation inside the cooldown fires nothing, and one at
the end of the cooldown fires again. The clock is injected, never slept."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from minerva_core.alerts import metrics
from minerva_core.alerts.rules import AlertRule
from minerva_core.errors import AlertRuleError
from tests.alerts.data import (
    NOW,
    add_endpoint,
    add_key,
    add_ledger,
    add_price,
    add_reconciliation,
    add_rule,
    add_sync_job,
    evaluate,
    rule_names,
)

COOLDOWN = 600
H = timedelta(hours=1)


def check_threshold_and_cooldown(
    engine: Engine, metric: str, value: str, step: str, *, scope: dict | None = None,
    rising: bool = True, subject: dict | None = None, prefix: str = "",
) -> None:
    """rising: the alert is "value >= threshold" (else "value <= threshold")."""
    value_d, step_d = Decimal(value), Decimal(step)
    at, strict = ("gte", "gt") if rising else ("lte", "lt")
    past = value_d + step_d if rising else value_d - step_d
    with engine.begin() as conn:
        add_rule(conn, f"{prefix}at", metric, value_d, at, scope=scope or {}, cooldown_seconds=COOLDOWN)
        add_rule(conn, f"{prefix}just-past", metric, past, at, scope=scope or {}, cooldown_seconds=COOLDOWN)
        add_rule(conn, f"{prefix}strict", metric, value_d, strict, scope=scope or {}, cooldown_seconds=COOLDOWN)

    first = [e for e in evaluate(engine, NOW) if e.kind == metric]
    assert rule_names(engine, first) == [f"{prefix}at"], [e.message for e in first]
    (event,) = first
    assert event.observed_value == value_d
    assert event.threshold == value_d
    if subject is not None:
        assert event.payload["subject"] == subject

    inside = [e for e in evaluate(engine, NOW + timedelta(seconds=COOLDOWN - 1)) if e.kind == metric]
    assert inside == [], "fired again inside the cooldown"

    after = [e for e in evaluate(engine, NOW + timedelta(seconds=COOLDOWN)) if e.kind == metric]
    assert rule_names(engine, after) == [f"{prefix}at"]
    assert after[0].fingerprint == event.fingerprint


def test_spend_budget_used(alerts_db):
    with alerts_db.begin() as conn:
        key = add_key(conn, "team-a", budget="10", period="month")
        other = add_key(conn, "team-b", budget="1", period="month")
        add_key(conn, "no-budget")
        add_ledger(conn, NOW - H, cost="2", api_key_id=key)
        add_ledger(conn, NOW - H, cost=None, estimated="1.5", api_key_id=key)  # estimate until charged
        add_ledger(conn, NOW - H, cost="0.5", estimated="9", api_key_id=key)  # the charge wins
        add_ledger(conn, NOW.replace(day=1) - timedelta(days=1), cost="100", api_key_id=key)  # last month
        add_ledger(conn, NOW + H, cost="100", api_key_id=key)  # after now
        add_ledger(conn, NOW - H, cost="0.2", api_key_id=other)
    check_threshold_and_cooldown(
        alerts_db, "spend.budget_used", "0.4", "0.0001", scope={"api_key_id": key}, subject={"api_key_id": key}
    )


def test_spend_budget_forecast_is_a_burn_rate(alerts_db):
    with alerts_db.begin() as conn:
        key = add_key(conn, "daily", budget="20", period="day")
        add_ledger(conn, NOW - 6 * H, cost="3", api_key_id=key)
        add_ledger(conn, NOW - 6 * H, cost="2", api_key_id=key)
        add_ledger(conn, NOW - 13 * H, cost="50", api_key_id=key)  # yesterday
        add_rule(conn, "at", "spend.budget_forecast", "0.5", cooldown_seconds=COOLDOWN)
        add_rule(conn, "just-past", "spend.budget_forecast", "0.5001", cooldown_seconds=COOLDOWN)
        add_rule(conn, "strict", "spend.budget_forecast", "0.5", "gt", cooldown_seconds=COOLDOWN)
    # 5 USD by noon: half the day gone, so half of the 20 USD budget by midnight.
    first = evaluate(alerts_db, NOW)
    assert rule_names(alerts_db, first) == ["at"]
    assert first[0].observed_value == Decimal("0.5")
    assert first[0].payload["details"]["spent_usd"] == "5"
    # One more dollar keeps the forecast above 0.5 while time passes.
    with alerts_db.begin() as conn:
        add_ledger(conn, NOW + timedelta(seconds=30), cost="1", api_key_id=key)
    # Now every rule holds; "at" is cooling down, the other two fire for the first time.
    inside = evaluate(alerts_db, NOW + timedelta(seconds=COOLDOWN - 1))
    assert rule_names(alerts_db, inside) == ["just-past", "strict"]
    assert rule_names(alerts_db, evaluate(alerts_db, NOW + timedelta(seconds=COOLDOWN))) == ["at"]
    # Early in the day nothing is forecast (under min_elapsed of the period).
    rule = AlertRule(id=0, name="early", metric="spend.budget_forecast", threshold=Decimal(0))
    with alerts_db.connect() as conn:
        assert metrics.observe(conn, rule, NOW.replace(hour=1)) == []
        assert len(metrics.observe(conn, rule, NOW.replace(hour=2))) == 1


def test_spend_total_usd(alerts_db):
    with alerts_db.begin() as conn:
        add_ledger(conn, NOW - H, cost="1.25", model="openai/gpt-4o")
        add_ledger(conn, NOW - 2 * H, estimated="0.75", model="openai/gpt-4o")
        add_ledger(conn, NOW - timedelta(days=2), cost="50", model="openai/gpt-4o")  # outside the window
        add_ledger(conn, NOW - H, cost="9", model="anthropic/claude-sonnet-4")
    check_threshold_and_cooldown(
        alerts_db, "spend.total_usd", "2.00", "0.01", scope={"model": "openai/gpt-4o"},
        subject={"model": "openai/gpt-4o"},
    )


def test_errors_rate_with_a_minimum_request_count(alerts_db):
    with alerts_db.begin() as conn:
        for i in range(20):
            status = ("error", "timeout", "rate_limited", "error", "cancelled")[i] if i < 5 else "ok"
            add_ledger(conn, NOW - timedelta(minutes=i + 1), status=status, provider="Together")
        add_ledger(conn, NOW - timedelta(minutes=5), status="error", provider="DeepInfra")
        add_rule(conn, "too-few", "errors.rate", "0", scope={"provider": "Together", "min_requests": 21})
        add_rule(conn, "noisy-provider", "errors.rate", "0", scope={"provider": "DeepInfra"})
    check_threshold_and_cooldown(alerts_db, "errors.rate", "0.25", "0.0001", scope={"provider": "Together"})


def test_latency_p95_per_model(alerts_db):
    with alerts_db.begin() as conn:
        for i in range(1, 21):
            add_ledger(conn, NOW - timedelta(minutes=i), latency_ms=100 * i, model="m/a")
        add_ledger(conn, NOW - H, latency_ms=99_000, status="error", model="m/a")  # errors excluded
        for _ in range(5):  # under min_requests: no value
            add_ledger(conn, NOW - H, latency_ms=60_000, model="m/b")
    # percentile_cont(0.95) of 100..2000 step 100: 1900 + 0.05 * 100.
    check_threshold_and_cooldown(
        alerts_db, "latency.p95_ms", "1905", "0.01", scope={"group_by": "model"}, subject={"model": "m/a"}
    )


def test_provider_health_min_uptime_and_down_share(alerts_db):
    with alerts_db.begin() as conn:
        add_endpoint(conn, "m/a", "together/fp8", "Together", 99.5, observed_at=NOW - H)
        add_endpoint(conn, "m/b", "together/fp16", "Together", 97.25, status=-1, observed_at=NOW - H)
        add_endpoint(conn, "m/a", "deepinfra/fp8", "DeepInfra", 100.0, observed_at=NOW - H)
        add_endpoint(conn, "m/c", "deepinfra/gone", "DeepInfra", 10.0, observed_at=NOW - H, removed_at=NOW - H)
        add_endpoint(conn, "m/c", "deepinfra/stale", "DeepInfra", 5.0, observed_at=NOW - timedelta(days=3))
    check_threshold_and_cooldown(
        alerts_db, "provider.health", "97.25", "0.01", rising=False, subject={"provider": "Together"}
    )
    check_threshold_and_cooldown(
        alerts_db, "provider.health", "0.5", "0.01", scope={"measure": "down_share"},
        subject={"provider": "Together"}, prefix="down-",
    )


def test_catalog_price_change_count_and_max_ratio(alerts_db):
    with alerts_db.begin() as conn:
        add_price(conn, "x/tripled", "0.000001", "0.000002", NOW - timedelta(days=3), NOW - H)
        add_price(conn, "x/tripled", "0.000003", "0.000002", NOW - H)
        add_price(conn, "y/halved", "0.00001", "0.00001", NOW - timedelta(days=3), NOW - 2 * H)
        add_price(conn, "y/halved", "0.000005", "0.00001", NOW - 2 * H)
        add_price(conn, "z/new", "0.000001", "0.000001", NOW - H)  # a new model is no price change
        add_price(conn, "w/old", "0.000001", "0.000001", NOW - timedelta(days=9), NOW - timedelta(days=3))
        add_price(conn, "w/old", "0.000002", "0.000001", NOW - timedelta(days=3))  # outside the window
    check_threshold_and_cooldown(alerts_db, "catalog.price_change", "2", "1")
    check_threshold_and_cooldown(
        alerts_db, "catalog.price_change", "3", "0.001", scope={"measure": "max_ratio"}, prefix="ratio-"
    )


def test_catalog_quarantined(alerts_db):
    with alerts_db.begin() as conn:
        add_sync_job(conn, "quarantined", NOW - H)
        add_sync_job(conn, "quarantined", NOW - 3 * H)
        add_sync_job(conn, "quarantined", NOW - timedelta(days=2))  # outside the window
        add_sync_job(conn, "succeeded", NOW - H)
        add_sync_job(conn, "quarantined", NOW - H, kind="pricing")
    check_threshold_and_cooldown(
        alerts_db, "catalog.quarantined", "2", "1", scope={"kind": "discover"}, subject={"kind": "discover"}
    )


def test_reconciliation_gap_of_the_latest_run(alerts_db):
    with alerts_db.begin() as conn:
        add_reconciliation(conn, NOW - 5 * H, "100", "0.5")  # older run: not the latest
        add_reconciliation(
            conn, NOW - H, "-1.50", "0.98",
            items=[("amount_mismatch", "3", "5"), ("missing_in_bill", "1.25", None), ("matched", "4", "4")],
        )
    # |+2.00| + |-1.25| + 0: offsetting differences do not cancel out.
    check_threshold_and_cooldown(alerts_db, "reconciliation.gap", "3.25", "0.01")
    check_threshold_and_cooldown(
        alerts_db, "reconciliation.gap", "0.02", "0.001", scope={"measure": "inaccuracy"}, prefix="acc-"
    )
    check_threshold_and_cooldown(
        alerts_db, "reconciliation.gap", "1.50", "0.01", scope={"measure": "net_delta_usd"}, prefix="net-"
    )


@pytest.mark.parametrize(
    "metric, scope",
    [
        ("spend.total_usd", {"modle": "typo"}),
        ("errors.rate", {"group_by": "colour"}),
        ("errors.rate", {"group_by": ["model"]}),
        ("spend.total_usd", {"model": {"id": 1}}),
        ("spend.budget_used", {"api_key_id": "not-a-uuid"}),
        ("latency.p95_ms", {"min_requests": "many"}),
        ("provider.health", {"measure": "vibes"}),
        ("no.such_metric", {}),
    ],
)
def test_a_rule_that_cannot_be_measured_says_why(alerts_db, metric, scope):
    rule = AlertRule(id=1, name="bad", metric=metric, threshold=Decimal(1), scope=scope)
    with alerts_db.connect() as conn, pytest.raises(AlertRuleError, match="'bad'"):
        metrics.observe(conn, rule, NOW)


def test_disabled_rules_are_skipped(alerts_db):
    with alerts_db.begin() as conn:
        add_ledger(conn, NOW - H, cost="5")
        add_rule(conn, "off", "spend.total_usd", "1", enabled=False)
    assert evaluate(alerts_db, NOW) == []
