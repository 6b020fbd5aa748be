"""``SharedLimits``: the asyncio adapter that runs the scripts on Redis (redis.asyncio).

Every call is one EVALSHA with a hard deadline (``timeout``, default 50 ms) and no retries.
A failure (refused, reset, timed out, a script error) raises
``minerva_core.errors.SharedLimitsUnavailable`` and opens a short breaker: for
``retry_after_failure`` seconds calls fail at once without touching the network, then one
call tries again. The first failure of an outage logs one warning (the store's host, port
and db, never the URL's password); the first success after it logs that the store is back.

Settlements (budget charges, token corrections) are not on a request's critical path: the
gateway queues them and sends them with ``apply``, many per pipelined round trip. A batch
that fails is sent again later in full; should the connection have dropped after Redis ran
part of it, those settlements count twice (the shared total over-counts, never under).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from minerva_core.errors import SharedLimitsUnavailable
from minerva_core.limits import Admission
from minerva_core.shared_limits import scripts
from minerva_core.shared_limits.units import budget_key, rate_key, slot_expiry_ms, units_down, units_up, usd

log = logging.getLogger(__name__)
ALLOWED = Admission(True)


@dataclass(frozen=True)
class BudgetVerdict:
    allowed: bool
    spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)


def describe_url(url: str) -> str:
    """``redis://host:port/db`` without user or password, for logs and messages."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return f"unix://{parts.path}"
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"
    except ValueError:
        return "the configured Redis"


class SharedLimits:
    def __init__(self, url: str, *, prefix: str = "minerva:limits:", timeout: float = 0.05,
                 retry_after_failure: float = 1.0, max_connections: int = 32, period: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.where = describe_url(url)
        self.prefix = prefix
        self.timeout = timeout
        self.retry_after_failure = retry_after_failure
        self.period = period
        self.clock = clock
        self.outage = False
        self.failures = 0
        self._down_until = 0.0
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=timeout, socket_timeout=timeout,
            socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
        )
        self.client = Redis(connection_pool=pool)
        self._admit = self.client.register_script(scripts.ADMIT)
        self._settle_tokens = self.client.register_script(scripts.SETTLE_TOKENS)
        self._reserve = self.client.register_script(scripts.RESERVE)
        self._settle = self.client.register_script(scripts.SETTLE)
        self._seed = self.client.register_script(scripts.SEED)

    # -- health ---------------------------------------------------------------------------
    def available(self) -> bool:
        """False while the breaker is open (a recent failure): callers skip the store."""
        return not self.outage or self.clock() >= self._down_until

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        return await self._guard(lambda: script(keys=keys, args=args))

    async def _guard(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """``await call()`` within the deadline; any failure opens the breaker and raises
        SharedLimitsUnavailable."""
        if self.outage and self.clock() < self._down_until:
            raise SharedLimitsUnavailable(f"shared limits store {self.where} is unreachable")
        try:
            async with asyncio.timeout(self.timeout):
                result = await call()
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            raise SharedLimitsUnavailable(f"shared limits store {self.where}: {exc.__class__.__name__}") from None
        if self.outage:
            self.outage = False
            log.warning("shared limits store %s answers again; rate limits and budgets are shared again",
                        self.where)
        return result

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        self._down_until = self.clock() + self.retry_after_failure
        if not self.outage:
            self.outage = True
            log.warning("shared limits store %s is unreachable (%s); this process enforces rate limits and "
                        "budgets on its own until it answers", self.where, exc.__class__.__name__)

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(max(self.timeout, 1.0)):
                return bool(await self.client.ping())
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return False

    async def close(self) -> None:
        await self.client.aclose()

    # -- rate limits ----------------------------------------------------------------------
    async def admit(self, key_id: str, rpm: int | None, tpm: int | None, tokens: int,
                    now: float | None = None) -> Admission:
        """Take one request and ``tokens`` from the key's shared buckets, or say how long to wait."""
        result = await self._run(
            self._admit, [rate_key(self.prefix, key_id) + ":rpm", rate_key(self.prefix, key_id) + ":tpm"],
            [rpm or 0, tpm or 0, tokens, self.period, "" if now is None else repr(now)],
        )
        if int(result[0]) == 1:
            return ALLOWED
        return Admission(False, float(result[1]), result[2].decode() if isinstance(result[2], bytes) else result[2])

    async def settle_tokens(self, key_id: str, tpm: int, estimated: int, actual: int,
                            now: float | None = None) -> None:
        if not tpm or actual == estimated:
            return
        await self._run(self._settle_tokens, [rate_key(self.prefix, key_id) + ":tpm"],
                        [tpm, actual - estimated, self.period, "" if now is None else repr(now)])

    # -- budgets --------------------------------------------------------------------------
    async def reserve(self, key_id: str, budget: Decimal, period: str, at: datetime, estimate: Decimal,
                      seed: Decimal) -> BudgetVerdict:
        """Hold ``estimate`` (rounded up to whole units) against the key's budget for the
        period of ``at``. ``seed`` is this process's known spend, used if the slot is new."""
        result = await self._run(
            self._reserve, [budget_key(self.prefix, key_id, period, at)],
            [units_down(budget), units_up(estimate), units_up(seed), slot_expiry_ms(period, at)],
        )
        if int(result[0]) == 1:
            return BudgetVerdict(True)
        return BudgetVerdict(False, usd(result[1]), usd(result[2]))

    async def settle(self, key_id: str, period: str, at: datetime, held: Decimal, charge: Decimal) -> bool:
        """Release ``held`` and add the exact ``charge``; False when the slot was gone."""
        result = await self._run(
            self._settle, [budget_key(self.prefix, key_id, period, at)],
            [units_up(held), units_up(charge), slot_expiry_ms(period, at)],
        )
        return int(result) == 1

    async def seed(self, key_id: str, period: str, at: datetime, spent: Decimal) -> bool:
        """Set the slot's spend from the ledger unless another process did first."""
        result = await self._run(self._seed, [budget_key(self.prefix, key_id, period, at)],
                                 [units_up(spent), slot_expiry_ms(period, at)])
        return int(result) == 1

    async def apply(self, batch: Sequence[tuple[str, tuple]]) -> None:
        """Many settlements in one pipelined round trip, in order:
        ``("settle", (key_id, period, at, held, charge))`` (as ``settle``) and
        ``("tokens", (key_id, tpm, estimated, actual))`` (as ``settle_tokens``)."""

        async def send() -> None:
            pipe = self.client.pipeline(transaction=False)
            for kind, item in batch:
                if kind == "settle":
                    key_id, period, at, held, charge = item
                    await self._settle([budget_key(self.prefix, key_id, period, at)],
                                       [units_up(held), units_up(charge), slot_expiry_ms(period, at)], client=pipe)
                else:
                    key_id, tpm, estimated, actual = item
                    if tpm and actual != estimated:
                        await self._settle_tokens([rate_key(self.prefix, key_id) + ":tpm"],
                                                  [tpm, actual - estimated, self.period, ""], client=pipe)
            await pipe.execute()

        await self._guard(send)

    async def budget_state(self, key_id: str, period: str, at: datetime) -> tuple[Decimal, Decimal] | None:
        """(spent, reserved) of a slot, or None when it does not exist (for tests and tools)."""
        values = await self.client.hmget(budget_key(self.prefix, key_id, period, at), "spent", "reserved")
        if values[0] is None:
            return None
        return usd(values[0]), usd(values[1] or 0)


__all__ = ["BudgetVerdict", "SharedLimits", "describe_url"]
