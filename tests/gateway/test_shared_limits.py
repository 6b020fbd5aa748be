"""Two real proxy processes behind one address share one key's rate limit and budget
through Redis; without Redis each process holds the line only for itself. Then the store
away or going away: requests keep being served on in-process limits, /metrics counts it,
one warning is logged per outage, and the URL's password never is.

A group is two ``uvicorn proxy.asgi:app_factory`` processes (one database, one emulator)
behind a round-robin TCP forwarder; every request is its own connection, so the two
processes see alternate requests. Both groups (shared and not) start together, once for
the module; their keys are made first, so the first snapshot has them. Redis keys live
under a prefix unique to this run and are deleted after.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import signal
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import redis
from sqlalchemy import Engine, text

from minerva_core.settings import load_settings
from minerva_core.shared_limits.units import budget_key, usd
from tests.gateway import support
from tests.gateway.support import A, wait_for
from tests.support.balancer import round_robin
from tests.support.proxy_group import proxy_group
from tests.support.redis_server import dead_url, running_redis, shared_prefix

pytestmark = pytest.mark.slow

N = 30  # the rate-limited key's requests per minute
BUDGET = Decimal("0.0006")
PRIOR = Decimal("0.0001")  # the shared budget key's spend in the ledger before the processes start
COMPLETION_TOKENS = 100
# The emulator answers with exactly COMPLETION_TOKENS tokens, the max_tokens the
# reservation is estimated from, so each charge is close to (never above) its estimate.
BODY = {"model": A, "messages": [{"role": "user", "content": "hi"}], "max_tokens": COMPLETION_TOKENS}
HEADERS = {"connection": "close", "x-emulator-completion-tokens": str(COMPLETION_TOKENS)}


@dataclass
class Group:
    url: str
    rpm_key: str
    budget_key: tuple[str, str]  # (plaintext, id)


@pytest.fixture(scope="module")
def redis_at() -> Iterator[tuple[str, str]]:
    with shared_prefix() as where:
        yield where


@pytest.fixture(scope="module")
def groups(gw_engine: Engine, gw_db_url: str, upstream: str, redis_at: tuple[str, str]) -> Iterator[dict[str, Group]]:
    """{"shared": two processes on one Redis, "local": two processes without}."""
    names = ("shared", "local")
    keys = {name: (support.new_key(gw_engine, f"{name}-rpm", rpm_limit=N)[0],
                   support.new_key(gw_engine, f"{name}-budget", budget_usd=BUDGET, budget_period="day"))
            for name in names}
    with gw_engine.begin() as conn:  # spend already in the ledger today: the store is seeded with it
        conn.execute(text("INSERT INTO usage_ledger (request_id, api_key_id, status, cost_usd, cost_source) "
                          "VALUES (:r, :k, 'ok', :c, 'response')"),
                     {"r": f"prior-{keys['shared'][1][1]}", "k": keys["shared"][1][1], "c": PRIOR})
    base = {
        "MINERVA_DATABASE_URL": gw_db_url, "OPENROUTER_BASE_URL": upstream, "MINERVA_ADMIN_TOKEN": support.ADMIN_TOKEN,
        "MINERVA_ENV": "test", "MINERVA_GATEWAY_LEDGER_FLUSHER": "inline",
        "MINERVA_GATEWAY_FORWARD_HEADERS": "x-emulator-completion-tokens",
        "MINERVA_GATEWAY_SHARED_LIMITS_PREFIX": redis_at[1],
        # A machine shared by parallel test runs can stall a process for longer than the
        # production 50 ms; falling back on a slow or absent store is tested on its own below.
        "MINERVA_GATEWAY_SHARED_LIMITS_TIMEOUT_MS": "3000",
    }
    envs = [{**base, "MINERVA_REDIS_URL": redis_at[0]}] * 2 + [{**base, "MINERVA_REDIS_URL": ""}] * 2
    with proxy_group(envs) as procs, ExitStack() as stack:
        out = {}
        for i, name in enumerate(names):
            pair = [p.url.removeprefix("http://") for p in procs[2 * i:2 * i + 2]]
            out[name] = Group(f"http://{stack.enter_context(round_robin(pair))}", *keys[name])
        yield out


def burst(url: str, key: str, count: int) -> tuple[list[httpx.Response], float]:
    """``count`` concurrent requests, one connection each; (responses, seconds taken)."""

    async def main() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.gather(*(
                client.post(f"{url}/v1/chat/completions", json=BODY,
                            headers={**HEADERS, "authorization": f"Bearer {key}"})
                for _ in range(count)))

    started = time.monotonic()
    responses = asyncio.run(main())
    return responses, time.monotonic() - started


def process_of(response: httpx.Response) -> str:
    """Which proxy process answered: request ids carry a per-process random prefix."""
    return response.headers["x-request-id"].rsplit("-", 1)[0]


def refill(seconds: float) -> int:
    """Requests an rpm-N bucket may refill during a burst of this length."""
    return math.floor(seconds * N / 60)


def charges(responses: list[httpx.Response]) -> list[Decimal]:
    return [Decimal(str(r.json(parse_float=Decimal)["usage"]["cost"])) for r in responses if r.status_code == 200]


# -- shared: the pair holds one line ---------------------------------------------------------------
def test_two_processes_together_admit_exactly_the_rate_limit(groups: dict[str, Group]) -> None:
    responses, seconds = burst(groups["shared"].url, groups["shared"].rpm_key, 3 * N)
    assert sorted(Counter(map(process_of, responses)).values()) == [3 * N // 2] * 2  # each saw half
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) == {200, 429}
    assert N <= statuses[200] <= N + refill(seconds), (statuses, seconds)
    for refused in (r for r in responses if r.status_code == 429):
        assert int(refused.headers["retry-after"]) >= 1
        error = refused.json()["error"]
        assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_rpm"
        assert f"{N} requests per minute" in error["message"]


def test_two_processes_together_stay_within_the_budget(groups: dict[str, Group], redis_at) -> None:
    key, key_id = groups["shared"].budget_key
    responses, _ = burst(groups["shared"].url, key, 30)
    spent = charges(responses)
    assert sum(spent) <= BUDGET - PRIOR, spent
    assert sum(spent) > (BUDGET - PRIOR) * Decimal("0.8"), spent  # the line itself, not far short of it
    refused = [r for r in responses if r.status_code != 200]
    assert refused and all(r.status_code == 402 and r.json()["error"]["code"] == "budget_exceeded" for r in refused)
    # Both processes settled every exact charge into the one shared slot.
    client = redis.Redis.from_url(redis_at[0])
    slot = budget_key(redis_at[1], key_id, "day", datetime.now(timezone.utc))
    try:
        wait_for(lambda: client.hget(slot, "reserved") == b"0")
        assert usd(client.hget(slot, "spent")) == PRIOR + sum(spent)  # whole 10**-12 USD each: exact
    finally:
        client.close()


# -- local: each process holds the line only for itself ------------------------------------------
def test_without_redis_each_process_admits_the_limit_alone(groups: dict[str, Group]) -> None:
    responses, seconds = burst(groups["local"].url, groups["local"].rpm_key, 3 * N)
    admitted = Counter(process_of(r) for r in responses if r.status_code == 200)
    assert len(admitted) == 2
    for count in admitted.values():
        assert N <= count <= N + refill(seconds), (admitted, seconds)


def test_without_redis_the_pair_overspends_the_budget(groups: dict[str, Group]) -> None:
    responses, _ = burst(groups["local"].url, groups["local"].budget_key[0], 30)
    assert sum(charges(responses)) > BUDGET * Decimal("1.5"), charges(responses)


# -- the store away --------------------------------------------------------------------------------
def _metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    values = [float(v) for v in re.findall(rf"^{re.escape(name)} (\S+)$", text, re.M)]
    return sum(values) if values else 0.0


def _post(client: httpx.Client, url: str, key: str) -> httpx.Response:
    return client.post(f"{url}/v1/chat/completions", json={**BODY, "max_tokens": 5},
                       headers={"authorization": f"Bearer {key}"})


def _app(gw_db_url: str, upstream: str, home: Path, redis_url: str):
    """A gateway in this process (so its log is this test's) on ``redis_url``, with the
    production timeout and a short breaker interval."""
    settings = load_settings(environ={
        "MINERVA_DATABASE_URL": gw_db_url, "OPENROUTER_BASE_URL": upstream, "MINERVA_ADMIN_TOKEN": support.ADMIN_TOKEN,
        "MINERVA_HOME": str(home), "MINERVA_ENV": "test", "MINERVA_REDIS_URL": redis_url,
    })
    return support.build_app(settings, support.test_config(home, shared_limits_timeout_ms=50,
                                                           shared_limits_retry_s=0.2))


def test_nobody_listening_falls_back_to_in_process_limits(gw_db_url, gw_engine, upstream, tmp_path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="minerva_core.shared_limits")
    key = support.new_key(gw_engine, "dead-redis", rpm_limit=3, budget_usd=Decimal("1"), budget_period="day")[0]
    app = _app(gw_db_url, upstream, tmp_path, dead_url(password="hunter2-secret"))
    with support.serve(app) as url, httpx.Client(timeout=30) as client:
        support.await_key(app, key)
        statuses = [_post(client, url, key).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]  # this process still holds the key's line
        assert _metric(url, 'minerva_gateway_shared_limits_fallbacks_total{op="admit"}') == 5
        assert _metric(url, 'minerva_gateway_shared_limits_fallbacks_total{op="reserve"}') == 3
        assert _metric(url, "minerva_gateway_shared_limits_up") == 0
    warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0]
    assert "hunter2-secret" not in caplog.text


def test_redis_going_away_and_coming_back(gw_db_url, gw_engine, upstream, tmp_path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="minerva_core.shared_limits")
    key, key_id = support.new_key(gw_engine, "flaky-redis", rpm_limit=10)
    with running_redis(password="pw-secret-42") as server:
        app = _app(gw_db_url, upstream, tmp_path, server.url)
        with support.serve(app) as url, httpx.Client(timeout=30) as client:
            support.await_key(app, key)
            store = redis.Redis.from_url(server.url)
            bucket = f"minerva:limits:{{{key_id}}}:rate:rpm"
            assert [_post(client, url, key).status_code for _ in range(4)] == [200] * 4
            assert 5.9 < float(store.hget(bucket, "l")) < 6.5  # taken in Redis, not in process
            assert _metric(url, "minerva_gateway_shared_limits_up") == 1

            server.kill()
            after = [_post(client, url, key).status_code for _ in range(12)]
            assert set(after) <= {200, 429} and after.count(200) == 10  # a fresh in-process bucket
            assert _metric(url, 'minerva_gateway_shared_limits_fallbacks_total{op="admit"}') == 12
            assert _metric(url, "minerva_gateway_shared_limits_up") == 0

            with running_redis(password="pw-secret-42", port=server.port) as again:
                time.sleep(0.25)  # the breaker's retry interval
                statuses = [_post(client, url, key).status_code for _ in range(2)]
                fresh = redis.Redis.from_url(again.url)
                assert statuses == [200, 200] and float(fresh.hget(bucket, "l")) < 9  # shared again
                fresh.close()
                assert _metric(url, "minerva_gateway_shared_limits_up") == 1
            store.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in messages) == 1  # one warning for the outage
    assert sum("answers again" in m for m in messages) == 1
    assert "pw-secret-42" not in caplog.text


def test_a_stalled_store_times_out_and_settlements_are_sent_when_it_answers() -> None:
    """Redis stopped (SIGSTOP: connected, silent) then resumed with its data: the requests
    in between are decided in process within the timeout, and the budget settlement made
    meanwhile reaches the shared slot afterwards, exactly once."""
    from minerva_core.shared_limits import SharedLimits
    from proxy.gateway.admission import AdmissionControl, SharedHold
    from proxy.gateway.state import KeyInfo

    key = KeyInfo(id="stalled", name="stalled", rpm_limit=100, budget_usd=Decimal("1"), budget_period="day")
    now = datetime.now(timezone.utc)
    fallbacks: list[str] = []

    async def main(server) -> tuple[Any, ...]:
        shared = SharedLimits(server.url, timeout=0.05, retry_after_failure=0.1)
        admission = AdmissionControl(shared=shared, on_fallback=fallbacks.append)
        try:
            await admission.admit(key, 10)
            held = await admission.areserve(key, Decimal("0.4"), now)
            server.process.send_signal(signal.SIGSTOP)
            try:
                admission.settle(key, held, Decimal("0.3"), now)
                await admission.flush()
                started = time.perf_counter()
                await admission.admit(key, 10)  # decided in process, without waiting on the store
                stalled_for = time.perf_counter() - started
                queued = admission.backlog()
            finally:
                server.process.send_signal(signal.SIGCONT)
            await asyncio.sleep(0.15)
            await admission.admit(key, 10)  # the store answers: the queued settlement follows
            await admission.flush()
            state = await shared.budget_state(key.id, "day", now)
            return held, stalled_for, queued, admission.backlog(), state
        finally:
            await admission.close()

    with running_redis() as server:
        held, stalled_for, queued, left, state = asyncio.run(main(server))
    assert isinstance(held, SharedHold) and held == Decimal("0.4")
    assert stalled_for < 0.05 and queued == 1 and left == 0
    assert fallbacks == ["settle", "admit"]
    assert state == (Decimal("0.3"), Decimal(0))  # the hold released, the exact charge added once


def test_queueing_waits_for_the_shared_bucket(redis_at) -> None:
    """A queue_when_limited key whose shared bucket is empty waits for its refill (Redis's
    clock), then is admitted; a second process's admissions come out of the same bucket."""
    from minerva_core.shared_limits import SharedLimits
    from proxy.gateway.admission import AdmissionControl
    from proxy.gateway.state import KeyInfo

    key = KeyInfo(id=f"queued-{time.time_ns()}", name="queued", rpm_limit=120, queue_when_limited=True,
                  max_queue_wait_ms=2000)

    async def main() -> tuple[int, float]:
        pair = [AdmissionControl(shared=SharedLimits(redis_at[0], prefix=redis_at[1], timeout=3.0))
                for _ in range(2)]
        try:
            for immediate in range(400):  # alternate until an admission had to wait
                waited = await pair[immediate % 2].admit(key, 0)
                if waited:
                    return immediate, waited
            raise AssertionError("the shared bucket never ran dry")
        finally:
            for admission in pair:
                await admission.close()

    immediate, waited = asyncio.run(main())
    assert 120 <= immediate <= 124  # one bucket of 120 drained by both (plus its refill meanwhile)
    assert 0 < waited <= 0.6  # one request refills in 0.5 s
