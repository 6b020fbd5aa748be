"""The pure decisions of rules.py and evaluate.py, on literal data."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from minerva_core.alerts.evaluate import PastEvent, decide
from minerva_core.alerts.rules import (
    AlertRule,
    Observation,
    budget_forecast,
    budget_used,
    cooldown_over,
    describe,
    elapsed_fraction,
    fingerprint,
    holds,
    period_bounds,
    price_move_ratio,
)

T0 = datetime(2026, 3, 15, 12, 0, tzinfo=timezone.utc)
D = Decimal


@pytest.mark.parametrize(
    "value, comparison, threshold, expected",
    [
        ("10", "gt", "10", False), ("10.0001", "gt", "10", True), ("10", "gte", "10", True),
        ("9.9999", "gte", "10", False), ("10", "lt", "10", False), ("9.99", "lt", "10", True),
        ("10", "lte", "10", True), ("10", "eq", "10.000", True), ("10", "ne", "10", False),
        ("0.1", "eq", "0.10", True),
    ],
)
def test_comparison_is_exact(value, comparison, threshold, expected):
    assert holds(D(value), comparison, D(threshold)) is expected


def test_unknown_comparison_is_refused():
    with pytest.raises(ValueError):
        holds(D(1), "approx", D(1))


def test_fingerprint_is_stable_per_rule_and_subject():
    assert fingerprint(1, {"a": "x", "b": "y"}) == fingerprint(1, {"b": "y", "a": "x"})
    assert fingerprint(1, {"model": "m"}) != fingerprint(2, {"model": "m"})
    assert fingerprint(1, {"model": "m"}) != fingerprint(1, {"model": "n"})
    assert fingerprint(1, {}).startswith("rule:1:")


def test_cooldown_fires_again_at_exactly_the_cooldown():
    assert cooldown_over(None, T0, 600)
    assert not cooldown_over(T0, T0 + timedelta(seconds=599), 600)
    assert cooldown_over(T0, T0 + timedelta(seconds=600), 600)
    assert cooldown_over(T0, T0, 0)


def test_periods_are_utc_days_and_months():
    assert period_bounds("day", T0) == (datetime(2026, 3, 15, tzinfo=timezone.utc), datetime(2026, 3, 16, tzinfo=timezone.utc))
    assert period_bounds("month", datetime(2026, 12, 31, 23, tzinfo=timezone.utc)) == (
        datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc))
    paris = timezone(timedelta(hours=1))
    assert period_bounds("day", datetime(2026, 3, 16, 0, 30, tzinfo=paris))[0] == datetime(2026, 3, 15, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        period_bounds("week", T0)


def test_budget_used_and_the_burn_rate_forecast():
    start, end = period_bounds("day", T0)
    assert budget_used(D("5"), D("20")) == D("0.25")
    assert budget_used(D("5"), D("0")) is None
    assert elapsed_fraction(start, end, T0) == D("0.5")
    assert budget_forecast(D("5"), D("20"), start, end, T0) == D("0.5")
    # Six hours in, 5 USD spent: 20 USD by midnight, the whole budget.
    assert budget_forecast(D("5"), D("20"), start, end, start + timedelta(hours=6)) == D("1")
    # Too early to extrapolate (under 5% of the period), or a zero budget: nothing.
    assert budget_forecast(D("5"), D("20"), start, end, start + timedelta(minutes=60)) is None
    assert budget_forecast(D("5"), D("20"), start, end, start + timedelta(minutes=60), D("0")) == D("6")
    assert budget_forecast(D("5"), D("0"), start, end, T0) is None
    # Month of 31 days, 3.1 days in, 1 USD spent of 100: 10 USD by the end.
    m0, m1 = period_bounds("month", T0)
    assert budget_forecast(D("1"), D("100"), m0, m1, m0 + timedelta(days=3, hours=2, minutes=24)) == D("0.1")


def test_price_move_ratio_is_symmetric():
    assert price_move_ratio(D("0.000001"), D("0.000003")) == D(3)
    assert price_move_ratio(D("0.00001"), D("0.000005")) == D(2)
    assert price_move_ratio(D("0.000001"), D("0.000001")) == D(1)
    assert price_move_ratio(D("0"), D("0.000001")) is None
    assert price_move_ratio(None, D("1")) is None


def test_describe_keeps_messages_short():
    assert describe(D("0.25")) == "0.25"
    assert describe(D("1905.00000000000")) == "1905"
    assert describe(D(1) / D(3)) == "0.333333"


def _rule(**kw) -> AlertRule:
    base = {"id": 7, "name": "spend", "metric": "spend.total_usd", "threshold": D("10"), "comparison": "gte", "cooldown_seconds": 600}
    return AlertRule(**{**base, **kw})


def test_decide_fires_once_per_fingerprint_and_respects_the_cooldown():
    rule = _rule()
    obs = {7: [Observation(D("12.5"), {"model": "a"}), Observation(D("9.99"), {"model": "b"}),
               Observation(D("10"), {"model": "c"})]}
    events = decide([rule], obs, [], T0)
    assert [e.payload["subject"] for e in events] == [{"model": "a"}, {"model": "c"}]
    assert all(e.delivery_status == "pending" and e.fired_at == T0 for e in events)
    assert events[0].message == "spend.total_usd [model=a] is 12.5 (>= 10)"
    history = [PastEvent(e.fingerprint, e.fired_at) for e in events]
    assert decide([rule], obs, history, T0 + timedelta(seconds=599)) == []
    assert len(decide([rule], obs, history, T0 + timedelta(seconds=600))) == 2


def test_decide_skips_disabled_rules_and_subscriptions():
    obs = {7: [Observation(D("99"))], 8: [Observation(D("99"))]}
    rules = [_rule(enabled=False), _rule(id=8, metric="system.events", threshold=D(0))]
    assert decide(rules, obs, [], T0) == []


def test_muted_events_are_recorded_but_do_not_hold_back_delivery_after_the_mute():
    rule = _rule(muted_until=T0 + timedelta(hours=2))
    obs = {7: [Observation(D("11"))]}
    (muted,) = decide([rule], obs, [], T0)
    assert muted.delivery_status == "muted"
    history = [PastEvent(muted.fingerprint, T0, muted=True)]
    # While muted: one muted record per cooldown, no more.
    assert decide([rule], obs, history, T0 + timedelta(seconds=60)) == []
    assert decide([rule], obs, history, T0 + timedelta(seconds=600))[0].delivery_status == "muted"
    # Mute over a minute after the last muted event: delivered now, not a cooldown later.
    unmuted = _rule(muted_until=T0)
    (live,) = decide([unmuted], obs, history, T0 + timedelta(seconds=60))
    assert live.delivery_status == "pending"


def test_pure_modules_import_no_io_framework():
    code = (
        "import sys, minerva_core.alerts, minerva_core.alerts.rules, minerva_core.alerts.evaluate;"
        "bad = [m for m in ('httpx', 'sqlalchemy', 'prefect', 'fastapi', 'psycopg', 'smtplib')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
