"""Admission control on literal numbers and an injected clock."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from minerva_core.limits import BudgetTracker, Cooldowns, RateLimiter, budget_period_key, period_end, period_start


def test_rpm_admits_limit_then_says_how_long_to_wait():
    limiter = RateLimiter()
    for _ in range(3):
        assert limiter.admit("k", rpm=3, tpm=None, tokens=0, now=100.0).allowed
    denied = limiter.admit("k", rpm=3, tpm=None, tokens=0, now=100.0)
    assert not denied.allowed and denied.reason == "rpm"
    assert denied.retry_after == 20.0  # one request refills in 60/3 s
    assert not limiter.admit("k", rpm=3, tpm=None, tokens=0, now=119.9).allowed
    assert limiter.admit("k", rpm=3, tpm=None, tokens=0, now=120.0).allowed


def test_keys_are_independent():
    limiter = RateLimiter()
    assert limiter.admit("a", rpm=1, tpm=None, tokens=0, now=0).allowed
    assert not limiter.admit("a", rpm=1, tpm=None, tokens=0, now=0).allowed
    assert limiter.admit("b", rpm=1, tpm=None, tokens=0, now=0).allowed


def test_tpm_uses_estimates_then_settles_to_actual():
    limiter = RateLimiter()
    assert limiter.admit("k", rpm=None, tpm=1000, tokens=600, now=0).allowed
    denied = limiter.admit("k", rpm=None, tpm=1000, tokens=600, now=0)
    assert not denied.allowed and denied.reason == "tpm"
    assert abs(denied.retry_after - 12.0) < 1e-9  # 200 tokens short at 1000/60 per s
    limiter.settle_tokens("k", 1000, estimated=600, actual=100, now=0)
    assert limiter.admit("k", rpm=None, tpm=1000, tokens=600, now=0).allowed


def test_denied_request_takes_nothing():
    limiter = RateLimiter()
    assert limiter.admit("k", rpm=2, tpm=100, tokens=90, now=0).allowed
    assert not limiter.admit("k", rpm=2, tpm=100, tokens=90, now=0).allowed  # tpm blocks
    assert limiter.admit("k", rpm=2, tpm=100, tokens=5, now=0).allowed  # rpm still had one


def test_budget_reserve_settle_exact_and_periods():
    budget = BudgetTracker()
    at = datetime(2026, 11, 28, 23, 59, tzinfo=timezone.utc)
    assert budget.reserve("k", Decimal("1.00"), "day", at, Decimal("0.60"))
    assert not budget.reserve("k", Decimal("1.00"), "day", at, Decimal("0.41"))
    budget.settle("k", "day", at, Decimal("0.60"), Decimal("0.5999999999"))
    assert budget.remaining("k", Decimal("1.00"), "day", at) == Decimal("0.4000000001")
    assert budget.reserve("k", Decimal("1.00"), "day", at, Decimal("0.4000000001"))
    next_day = datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)
    assert budget.remaining("k", Decimal("1.00"), "day", next_day) == Decimal("1.00")
    assert budget_period_key("month", at) == "2026-11"
    assert period_start("month", at) == datetime(2026, 11, 1, tzinfo=timezone.utc)


def test_cooldown_after_repeated_failures_within_window_only():
    cool = Cooldowns(threshold=3, window=10, cooldown=30)
    assert not cool.record_failure("m", 0)
    assert not cool.record_failure("m", 11)  # the first fell out of the window
    assert not cool.record_failure("m", 12)
    assert cool.record_failure("m", 13)
    assert cool.cooling(20) == {"m"}
    assert cool.cooling(43) == frozenset()
    cool.record_failure("x", 0)
    cool.record_success("x")
    assert not cool.record_failure("x", 1)


def test_a_settled_overrun_is_owed_not_forgiven():
    """A bucket driven below zero by a real count over the estimate refills from there; it
    does not start over full."""
    limiter = RateLimiter()
    assert limiter.admit("k", rpm=None, tpm=1000, tokens=600, now=0).allowed
    limiter.settle_tokens("k", 1000, estimated=600, actual=1500, now=0)  # 400 - 900 = -500
    denied = limiter.admit("k", rpm=None, tpm=1000, tokens=100, now=0)
    assert not denied.allowed and abs(denied.retry_after - 36.0) < 1e-9  # 600 tokens at 1000/60 per s
    assert limiter.admit("k", rpm=None, tpm=1000, tokens=100, now=36.0).allowed


def test_period_end_is_the_next_period_start():
    at = datetime(2026, 12, 31, 18, tzinfo=timezone.utc)
    assert period_end("day", at) == datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert period_end("month", at) == datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert period_end("month", datetime(2026, 2, 3, tzinfo=timezone.utc)) == datetime(2026, 3, 1, tzinfo=timezone.utc)
