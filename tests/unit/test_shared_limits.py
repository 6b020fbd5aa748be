"""The shared store's Lua scripts against a real Redis (a key prefix unique to this run),
and its pure helpers on literal values."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterator

import pytest
import redis

from minerva_core.errors import ConfigError, SharedLimitsUnavailable
from minerva_core.limits import RateLimiter
from minerva_core.settings import load_settings
from minerva_core.shared_limits import SharedLimits, describe_url
from minerva_core.shared_limits.units import budget_key, slot_expiry_ms, units_down, units_up, usd
from proxy.gateway.config import load_gateway_config
from tests.support.redis_server import dead_url, shared_prefix

UTC = timezone.utc


@pytest.fixture(scope="module")
def store_at() -> Iterator[tuple[str, str]]:
    with shared_prefix() as where:
        yield where


def run(store_at: tuple[str, str], work: Any, **options: Any) -> Any:
    """Run ``await work(store)`` on a fresh SharedLimits (own event loop, closed after)."""
    url, prefix = store_at

    async def main() -> Any:
        store = SharedLimits(url, prefix=prefix, timeout=1.0, **options)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


def fresh_key() -> str:
    return f"key-{random.getrandbits(48):x}"


# -- pure helpers -------------------------------------------------------------------------------
def test_money_units_round_against_under_counting() -> None:
    assert units_up(Decimal("0.000000000001")) == 1
    assert units_up(Decimal("0.0000000000011")) == 2  # a reservation never holds less
    assert units_down(Decimal("0.0000000000019")) == 1  # a budget never allows more
    assert units_up(Decimal("0.0001234")) == 123_400_000 and units_up(None) == 0 and units_up(Decimal(-1)) == 0
    assert usd(123_400_000) == Decimal("0.0001234") and usd(b"5") == Decimal("5E-12")
    # 22-decimal prices times large token counts stay exact before rounding
    assert units_up(Decimal("1234567.0000000000000000000001")) == 1_234_567_000_000_000_001


def test_slots_expire_an_hour_after_their_period() -> None:
    at = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert slot_expiry_ms("day", at) == int(datetime(2027, 1, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert slot_expiry_ms("month", at) == int(datetime(2027, 1, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert slot_expiry_ms("month", datetime(2026, 2, 10, tzinfo=UTC)) == int(
        datetime(2026, 3, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert budget_key("p:", "k1", "day", at) == "p:{k1}:budget:2026-12-31"


def test_urls_are_described_without_their_password() -> None:
    assert describe_url("redis://:hunter2@10.0.0.5:6380/3") == "redis://10.0.0.5:6380/3"
    assert describe_url("rediss://user:pw@cache.internal") == "rediss://cache.internal:6379/0"


def test_redis_url_setting_is_checked_and_kept_secret() -> None:
    assert load_settings(environ={}).redis_url is None
    assert load_settings(environ={"MINERVA_REDIS_URL": " "}).redis_url is None  # blank = unset
    settings = load_settings(environ={"MINERVA_REDIS_URL": "redis://:s3cret@cache:6379/2"})
    assert settings.redis_url.get_secret_value() == "redis://:s3cret@cache:6379/2"
    assert "s3cret" not in repr(settings)
    with pytest.raises(ConfigError, match="MINERVA_REDIS_URL"):
        load_settings(environ={"MINERVA_REDIS_URL": "http://cache:6379"})
    config = load_gateway_config({"MINERVA_GATEWAY_SHARED_LIMITS_TIMEOUT_MS": "20",
                                  "MINERVA_GATEWAY_SHARED_LIMITS_PREFIX": "eu:"})
    assert (config.shared_limits_timeout_ms, config.shared_limits_prefix, config.shared_limits_retry_s) == (20, "eu:", 1)


# -- rate limits --------------------------------------------------------------------------------
def test_buckets_decide_exactly_like_the_in_process_limiter(store_at) -> None:
    """A seeded random walk of admissions, token settlements and limit changes on an
    injected clock: every decision and every Retry-After is identical to RateLimiter's."""
    rng = random.Random(20260819)
    local = RateLimiter()
    key = fresh_key()

    async def walk(store: SharedLimits) -> int:
        now, rpm, tpm, refused = 1_000.0, 5, 900, 0
        for step in range(400):
            now += rng.choice((0.0, 0.0, 0.1, 0.37, 1.5, 7.0))
            if step in (150, 300):  # a changed limit starts a fresh, full bucket
                rpm, tpm = rng.choice((3, 5, 8)), rng.choice((500, 900, 1200))
            if rng.random() < 0.25:
                estimated, actual = rng.randrange(0, 400), rng.randrange(0, 700)
                local.settle_tokens(key, tpm, estimated, actual, now)
                await store.settle_tokens(key, tpm, estimated, actual, now=now)
                continue
            tokens = rng.randrange(0, 1500)
            mine = local.admit(key, rpm, tpm, tokens, now)
            shared = await store.admit(key, rpm, tpm, tokens, now=now)
            assert (shared.allowed, shared.reason, shared.retry_after) == (mine.allowed, mine.reason,
                                                                           mine.retry_after), step
            refused += not mine.allowed
        return refused

    refused = run(store_at, walk)
    assert 50 < refused < 350  # the walk exercised both outcomes


def test_real_clock_refill_and_retry_after(store_at) -> None:
    key = fresh_key()

    async def drain(store: SharedLimits) -> tuple[int, Any, Any]:
        admitted = 0
        while (await store.admit(key, 120, None, 0)).allowed:
            admitted += 1
        refused = await store.admit(key, 120, None, 0)
        await asyncio.sleep(refused.retry_after + 0.05)
        return admitted, refused, await store.admit(key, 120, None, 0)

    admitted, refused, later = run(store_at, drain)
    assert 120 <= admitted <= 122  # 2 per second refill while draining
    assert not refused.allowed and refused.reason == "rpm" and 0 < refused.retry_after <= 0.5
    assert later.allowed


def test_tokens_settle_to_the_actual_count(store_at) -> None:
    key = fresh_key()

    async def settle(store: SharedLimits) -> list[bool]:
        t = 50.0
        out = [(await store.admit(key, None, 1000, 600, now=t)).allowed,
               (await store.admit(key, None, 1000, 600, now=t)).allowed]
        await store.settle_tokens(key, 1000, 600, 100, now=t)  # 500 given back
        out.append((await store.admit(key, None, 1000, 600, now=t)).allowed)
        await store.settle_tokens(key, 1000, 600, 1500, now=t)  # 900 taken: the bucket owes 600
        refused = await store.admit(key, None, 1000, 1, now=t)
        out.append(refused.allowed)
        out.append(abs(refused.retry_after - 601 * 60 / 1000) < 1e-9)  # the debt is kept
        return out

    assert run(store_at, settle) == [True, False, True, False, True]


def test_concurrent_admissions_from_two_clients_take_exactly_the_limit(store_at) -> None:
    key = fresh_key()

    async def race(store: SharedLimits) -> int:
        other = SharedLimits(store_at[0], prefix=store_at[1], timeout=1.0)
        try:
            results = await asyncio.gather(*(s.admit(key, 40, None, 0, now=7.0)
                                             for s in (store, other) for _ in range(60)))
        finally:
            await other.close()
        return sum(r.allowed for r in results)

    assert run(store_at, race) == 40


# -- budgets ------------------------------------------------------------------------------------
AT = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def test_budget_rounds_reservations_up_and_settles_exactly(store_at) -> None:
    key = fresh_key()
    budget = Decimal("0.000000000005")  # 5 units
    estimate = Decimal("0.0000000000011")  # rounds up to 2 units

    async def steps(store: SharedLimits) -> list[Any]:
        out: list[Any] = [(await store.reserve(key, budget, "day", AT, estimate, Decimal(0))).allowed,
                          (await store.reserve(key, budget, "day", AT, estimate, Decimal(0))).allowed]
        out.append(await store.reserve(key, budget, "day", AT, estimate, Decimal(0)))  # 4 + 2 > 5
        out.append(await store.settle(key, "day", AT, estimate, Decimal("0.000000000001")))
        out.append(await store.budget_state(key, "day", AT))
        return out

    first, second, refused, settled, state = run(store_at, steps)
    assert first and second
    assert not refused.allowed and refused.spent == 0 and refused.reserved == Decimal("4E-12")
    assert settled is True
    assert state == (Decimal("1E-12"), Decimal("2E-12"))


def test_budget_check_is_exact_beyond_double_precision(store_at) -> None:
    """Sums past 2**53 units (USD 9007) are compared exactly, not as Lua doubles."""
    key = fresh_key()
    budget = Decimal("9000000")
    seed = Decimal("8999999.999999999998")  # 2 units short of the budget

    async def steps(store: SharedLimits) -> list[bool]:
        one = Decimal("0.000000000001")
        return [(await store.reserve(key, budget, "month", AT, one, seed)).allowed,
                (await store.reserve(key, budget, "month", AT, one, seed)).allowed,
                (await store.reserve(key, budget, "month", AT, one, seed)).allowed]

    assert run(store_at, steps) == [True, True, False]


def test_first_seed_wins_and_later_seeds_are_ignored(store_at) -> None:
    key = fresh_key()

    async def steps(store: SharedLimits) -> list[Any]:
        return [await store.seed(key, "month", AT, Decimal("1.5")),
                await store.seed(key, "month", AT, Decimal("2")),
                (await store.reserve(key, Decimal("2"), "month", AT, Decimal("0.6"), Decimal("0"))).allowed,
                await store.budget_state(key, "month", AT)]

    assert run(store_at, steps) == [True, False, False, (Decimal("1.5"), Decimal(0))]


def test_periods_roll_over_into_fresh_slots_that_expire_after_the_period(store_at) -> None:
    key = fresh_key()
    evening = (AT + timedelta(days=1)).replace(hour=23, minute=59, second=59)
    morning = evening + timedelta(seconds=2)
    budget, estimate = Decimal("0.01"), Decimal("0.01")

    async def steps(store: SharedLimits) -> list[Any]:
        return [(await store.reserve(key, budget, "day", evening, estimate, Decimal(0))).allowed,
                (await store.reserve(key, budget, "day", evening, estimate, Decimal(0))).allowed,
                (await store.reserve(key, budget, "day", morning, estimate, Decimal(0))).allowed]

    assert run(store_at, steps) == [True, False, True]
    client = redis.Redis.from_url(store_at[0])
    try:
        for at in (evening, morning):
            assert client.pexpiretime(budget_key(store_at[1], key, "day", at)) == slot_expiry_ms("day", at)
    finally:
        client.close()


def test_settling_a_slot_that_is_gone_creates_nothing(store_at) -> None:
    key = fresh_key()

    async def steps(store: SharedLimits) -> list[Any]:
        return [await store.settle(key, "day", AT, Decimal("0.1"), Decimal("0.1")),
                await store.budget_state(key, "day", AT)]

    assert run(store_at, steps) == [False, None]


# -- an absent store ----------------------------------------------------------------------------
def test_unreachable_store_fails_fast_then_skips_the_network(caplog) -> None:
    url = dead_url(password="hunter2-secret")
    caplog.set_level(logging.WARNING, logger="minerva_core.shared_limits")

    async def steps(store: SharedLimits) -> list[Any]:
        out = []
        for _ in range(3):
            started = time.perf_counter()
            try:
                await store.admit("k", 10, None, 0)
            except SharedLimitsUnavailable:
                out.append(time.perf_counter() - started)
        out.append(store.failures)
        out.append(store.available())
        return out

    async def main() -> list[Any]:
        store = SharedLimits(url, timeout=0.05, retry_after_failure=30)
        try:
            return await steps(store)
        finally:
            await store.close()

    *elapsed, failures, available = asyncio.run(main())
    assert len(elapsed) == 3 and max(elapsed) < 0.5
    assert failures == 1 and available is False  # the breaker kept the next two off the network
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0]
    assert "hunter2-secret" not in caplog.text
