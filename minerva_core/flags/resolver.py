"""FlagResolver: the effective flags of one deployment, cached in memory.

No query per request: the overrides are loaded once, then again only when they are older
than ``max_age_s`` (a TTL, default 30 s) or after ``invalidate()``. ``run()`` is the
background task a server starts: it LISTENs on minerva_catalog and reloads as soon as a
notification names feature_flags, and reloads every ``max_age_s`` anyway (a pooler may drop
LISTEN; a notification may be missed while disconnected).

    resolver = FlagResolver(settings, engine)            # deployment: MINERVA_DEPLOYMENT
    resolver.get("routing").enabled                       # threads: reloads when stale
    resolver.peek("routing")                              # async code: never does I/O
    resolver.enabled("ENABLE_OPENROUTER_ROUTING")         # a hot path: the bool, nothing else
    resolver.require("routing")                           # FeatureDisabledError when off
    task = asyncio.create_task(resolver.run(listen_dsn))  # in a lifespan; cancel on shutdown

When the database cannot be read, the last overrides read stay in force (none at start:
the environment decides) and the next attempt waits ``retry_after_s``; ``last_error`` says why.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine

from minerva_core.errors import FeatureDisabledError
from minerva_core.flags.definitions import FlagState, Override, deployment_name, flag_name, resolve
from minerva_core.flags.store import load_overrides
from minerva_core.settings import Settings

log = logging.getLogger(__name__)
CHANNEL = "minerva_catalog"
TABLE = "feature_flags"


class FlagResolver:
    def __init__(
        self, settings: Settings, engine: Engine | None = None, *, deployment: str | None = None,
        max_age_s: float = 30.0, retry_after_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.deployment = deployment or deployment_name(settings)
        self.max_age_s = max_age_s
        self.retry_after_s = retry_after_s
        self.clock = clock
        self.last_error: str | None = None
        self.loads = 0
        self.listening = False
        self._overrides: dict[tuple[str, str], Override] = {}
        self._states = resolve(settings, self.deployment, {})
        self._next_load = float("-inf")  # stale until the first load
        self._lock = threading.Lock()

    # -- reading ----------------------------------------------------------------------------
    def get(self, area: str) -> FlagState:
        """The flag's state, reloading first when the cache is stale (blocking I/O: call it
        from a thread, a sync handler or a flow, not from the event loop)."""
        self.refresh_if_stale()
        return self._states[flag_name(area)]

    def peek(self, area: str) -> FlagState:
        """The cached state; never does I/O."""
        return self._states[flag_name(area)]

    def enabled(self, flag: str) -> bool:
        """The cached value of ``flag`` (its exact variable name, e.g. ENABLE_OPENROUTER_ROUTING):
        no name normalisation, no I/O; for a hot path."""
        return self._states[flag].enabled

    def all(self) -> list[FlagState]:
        self.refresh_if_stale()
        return list(self._states.values())

    def require(self, area: str, *, refresh: bool = True) -> FlagState:
        """The state when the flag is on, else FeatureDisabledError (503 feature_disabled).
        refresh=False never does I/O (for the event loop; see is_stale)."""
        state = self.get(area) if refresh else self.peek(area)
        if not state.enabled:
            raise FeatureDisabledError(
                state.name, area=state.area, deployment=state.deployment, source=state.source_text
            )
        return state

    # -- loading ----------------------------------------------------------------------------
    def is_stale(self) -> bool:
        return self.engine is not None and self.clock() >= self._next_load

    def invalidate(self) -> None:
        self._next_load = float("-inf")

    def refresh_if_stale(self) -> None:
        if not self.is_stale():
            return
        with self._lock:
            if self.clock() >= self._next_load:  # another thread may have just loaded
                self.reload()

    def reload(self) -> bool:
        """Read the overrides now. False (and the previous ones kept) when that failed."""
        if self.engine is None:
            return False
        started = self.clock()
        try:
            with self.engine.connect() as conn:
                overrides = load_overrides(conn)
        except Exception as exc:  # keep serving the last known state
            self.last_error = f"{exc.__class__.__name__}: flag overrides unreadable"
            self._next_load = started + self.retry_after_s
            log.warning("feature flags: %s; keeping the last known values", self.last_error)
            return False
        self._overrides = overrides
        self._states = resolve(self.settings, self.deployment, overrides)
        self._next_load = started + self.max_age_s
        self.last_error = None
        self.loads += 1
        return True

    async def run(self, listen_dsn: str | None = None) -> None:
        """Reload at once, then on every feature_flags notification and every max_age_s."""
        await asyncio.to_thread(self.reload)
        tasks = [asyncio.create_task(self._tick(), name="flags-ttl")]
        if listen_dsn:
            tasks.append(asyncio.create_task(self._listen(listen_dsn), name="flags-listen"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(max(self.max_age_s, 0.05))
            await asyncio.to_thread(self.refresh_if_stale)

    async def _listen(self, dsn: str) -> None:
        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=5)
                try:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening, backoff = True, 0.5
                    await asyncio.to_thread(self.reload)  # whatever changed before LISTEN
                    async for note in conn.notifies():
                        if note.payload == TABLE:
                            await asyncio.to_thread(self.reload)
                finally:
                    self.listening = False
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feature flags: LISTEN lost (%s); the TTL still applies", exc.__class__.__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


__all__ = ["CHANNEL", "FlagResolver"]
