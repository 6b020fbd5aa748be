"""Keeping the snapshot current: load at start, reload on NOTIFY minerva_catalog (a LISTEN
connection), and poll catalog_versions (and the health view's last recorded refresh, see
``loader``) as a fallback (a pooler that drops LISTEN, missed
notifications while disconnected). Loads run in a worker thread; the request path only ever
reads ``store.snapshot``.

Reloads are serialised and coalesced: notifications mark the store dirty; one worker
waits ``reload_debounce_s``, clears the mark and reloads, so a burst of changes costs one
or two reloads, and a change during a reload triggers another afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from decimal import Decimal

import psycopg
from sqlalchemy import Engine

from proxy.gateway.build import build_snapshot
from proxy.gateway.config import GatewayConfig
from proxy.gateway.loader import VERSIONS_QUERY, fetch_rows, fetch_spend, fetch_versions
from proxy.gateway.state import KeyInfo, Snapshot

log = logging.getLogger(__name__)
CHANNEL = "minerva_catalog"

SwapHook = Callable[[Snapshot | None, Snapshot, dict[str, Decimal]], None]


def _budget_identity(key: KeyInfo) -> tuple:
    return (key.budget_usd is not None, key.budget_period)


def keys_needing_spend(old: Snapshot | None, new: Snapshot) -> list[KeyInfo]:
    """Budgeted keys whose spend is not tracked yet: all at start, later the new ones and
    those whose period changed."""
    out = []
    for key in new.key_ids.values():
        if key.budget_usd is None or not key.budget_period:
            continue
        before = old.key_ids.get(key.id) if old is not None else None
        if before is None or _budget_identity(before) != _budget_identity(key):
            out.append(key)
    return out


class SnapshotStore:
    def __init__(self, engine: Engine, listen_dsn: str | None, config: GatewayConfig, on_swap: SwapHook) -> None:
        self.engine = engine
        self.listen_dsn = listen_dsn
        self.config = config
        self.on_swap = on_swap
        self.snapshot: Snapshot | None = None
        self.last_error: str | None = None
        self.listening = False
        self.reloads = 0
        self._serial = 0
        self._lock = asyncio.Lock()
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        try:
            await self.reload("start")
        except Exception as exc:  # the poller keeps trying; readiness says why
            log.error("gateway snapshot could not be loaded at start: %s", exc.__class__.__name__)
        self._tasks = [
            asyncio.create_task(self._worker(), name="gateway-reload"),
            asyncio.create_task(self._poll(), name="gateway-version-poll"),
        ]
        if self.listen_dsn:
            self._tasks.append(asyncio.create_task(self._listen(), name="gateway-listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []

    def mark_dirty(self) -> None:
        self._dirty.set()

    # -- loading -----------------------------------------------------------------------
    def _load(self, old: Snapshot | None, serial: int) -> tuple[Snapshot, dict[str, Decimal]]:
        with self.engine.connect() as conn:
            with conn.begin():
                rows = fetch_rows(conn, old.versions if old is not None else None)
            snapshot = build_snapshot(rows, serial, old)
            spend = fetch_spend(conn, keys_needing_spend(old, snapshot))
            conn.rollback()
        return snapshot, spend

    async def reload(self, reason: str) -> Snapshot:
        async with self._lock:
            self._dirty.clear()  # this load reads every change committed so far
            started = time.perf_counter()
            self._serial += 1
            try:
                snapshot, spend = await asyncio.to_thread(self._load, self.snapshot, self._serial)
            except Exception as exc:
                self.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
                raise
            old, self.snapshot = self.snapshot, snapshot
            self.last_error = None
            self.reloads += 1
            self.on_swap(old, snapshot, spend)
            log.info("gateway snapshot %d loaded (%s): %d models, %d strategies, %d keys in %.0f ms",
                     snapshot.serial, reason, len(snapshot.catalog.models), len(snapshot.strategies),
                     len(snapshot.keys), (time.perf_counter() - started) * 1000)
            return snapshot

    async def _worker(self) -> None:
        while True:
            await self._dirty.wait()
            if self.config.reload_debounce_s:
                await asyncio.sleep(self.config.reload_debounce_s)
            self._dirty.clear()
            try:
                await self.reload("change")
            except Exception:
                await asyncio.sleep(1.0)  # keep the old snapshot; the poller marks it again

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.config.reload_poll_s)
            try:
                versions = await asyncio.to_thread(self._versions)
            except Exception as exc:
                self.last_error = f"version poll failed: {exc.__class__.__name__}"
                continue
            if self.snapshot is None or versions != self.snapshot.versions:
                self._dirty.set()

    def _versions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return fetch_versions(conn)

    async def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.listen_dsn, autocommit=True, connect_timeout=5)
                try:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    backoff = 0.5
                    # Changes made before LISTEN took effect (at start, or while disconnected)
                    # sent notifications nobody heard: compare versions once.
                    cursor = await conn.execute(VERSIONS_QUERY)
                    versions = {name: int(version) for name, version in await cursor.fetchall()}
                    if self.snapshot is None or versions != self.snapshot.versions:
                        self._dirty.set()
                    async for _ in conn.notifies():
                        self._dirty.set()
                finally:
                    self.listening = False
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN %s lost (%s); polling until it is back", CHANNEL, exc.__class__.__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


__all__ = ["CHANNEL", "SnapshotStore", "keys_needing_spend"]
