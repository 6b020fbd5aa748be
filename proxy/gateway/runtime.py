"""The gateway's per-app runtime: every stateful part in one object on ``app.state.gateway``
(no module globals), started and stopped by ``gateway_lifespan``.

    snapshot store   catalog, prices, strategies, keys (reload on NOTIFY / version poll)
    admission        rate-limit buckets, per-key queues, budgets (shared by every process in
                     Redis when MINERVA_REDIS_URL is set; minerva_core.shared_limits)
    cooldowns        models failing repeatedly, skipped for a while by every request
    upstream         the one aiohttp session
    ledger           durable spool here; COPY into PostgreSQL from a flusher child process
    recorder         ledger rows, budget/token settlement, metrics
    flags            ENABLE_OPENROUTER_PROVIDER / _ROUTING in memory (reloaded with the snapshot)
"""

from __future__ import annotations

import gc
import itertools
import logging
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine

from minerva_core.db.engine import libpq_url
from minerva_core.errors import ConfigError
from minerva_core.limits import Cooldowns
from minerva_core.settings import Settings
from proxy.gateway.admission import AdmissionControl
from proxy.gateway.config import GatewayConfig
from proxy.gateway.flags import GatewayFlags
from proxy.gateway.flusher import ProcessLedger
from proxy.gateway.metrics import GatewayMetrics
from proxy.gateway.recording import Recorder
from proxy.gateway.reload import SnapshotStore
from proxy.gateway.spool import GatewayLedgerWriter
from proxy.gateway.state import Snapshot
from proxy.gateway.upstream import Upstream

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, settings: Settings, config: GatewayConfig) -> None:
        self.settings = settings
        self.config = config
        self.metrics = GatewayMetrics()
        self.admission = AdmissionControl(max_waiters=config.max_queue_waiters,
                                          on_fallback=self.metrics.shared_fallback)
        self.cooldowns = Cooldowns(threshold=config.cooldown_threshold, window=config.cooldown_window_s,
                                   cooldown=config.cooldown_s)
        api_key = settings.openrouter_api_key.get_secret_value() if settings.openrouter_api_key else None
        self.upstream = Upstream(settings.openrouter_base_url, api_key, config)
        self.admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
        self.forward_headers = frozenset(name.encode("latin-1") for name in config.forwarded_header_names)
        self.store: SnapshotStore | None = None
        self.flags = GatewayFlags(settings)
        self.writer: ProcessLedger | GatewayLedgerWriter | None = None
        self.recorder = Recorder(None, self.admission, self.metrics, delay=config.record_delay_ms / 1000)
        self.engine: Engine | None = None
        self._own_engine = False
        self.started = False
        # Request ids: a random per-process prefix and a counter (unique without uuid4's cost).
        self._id_prefix = "req-" + secrets.token_hex(6) + "-"
        self._ids = itertools.count(1)
        self.metrics.bind(
            spool_depth=lambda: self.writer.spool.depth() if self.writer else 0,
            snapshot=lambda: self.snapshot,
            cooling=lambda: len(self.cooldowns.cooling(time.monotonic())),
            queued=self.admission.queued,
        )

    @property
    def snapshot(self) -> Snapshot | None:
        return self.store.snapshot if self.store is not None else None

    def new_request_id(self) -> str:
        return self._id_prefix + format(next(self._ids), "x")

    def cooling(self, now: float) -> frozenset[str]:
        return self.cooldowns.cooling(now) if self.cooldowns.until else frozenset()

    def cooldown_left(self, now: float) -> float | None:
        return min((t - now for t in self.cooldowns.until.values()), default=None)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, engine: Engine | None = None) -> None:
        if engine is None:
            if self.settings.database_url is None:
                raise ConfigError("the gateway needs a database: set MINERVA_DATABASE_URL or let create_app "
                                  "provide app.state.engine")
            engine = create_engine(self.settings.database_url.get_secret_value(), pool_size=2, pool_pre_ping=True)
            self._own_engine = True
        self.engine = engine
        dsn = libpq_url(engine.url.render_as_string(hide_password=False))
        await self.upstream.start()
        await self._start_shared_limits()
        if self.config.ledger_enabled:
            spool = self.config.spool_dir or Path(self.settings.home) / "spool" / "ledger"
            ledger_dsn = libpq_url(self.config.ledger_database_url) if self.config.ledger_database_url else dsn
            interval = self.config.ledger_flush_interval_s
            if self.config.ledger_flusher == "process":
                self.writer = ProcessLedger(ledger_dsn, spool, flush_interval=interval)
            else:
                self.writer = GatewayLedgerWriter(ledger_dsn, spool, flush_interval=interval)
            self.recorder.writer = self.writer
            await self.writer.start()
        await self.flags.start(engine)
        self.store = SnapshotStore(engine, dsn, self.config, self._on_swap)
        await self.store.start()
        self.started = True

    async def stop(self) -> None:
        self.started = False
        if self.store is not None:
            await self.store.stop()
        await self.flags.stop()
        await self.upstream.close()
        self.recorder.drain()
        await self.admission.close()
        if self.writer is not None:
            await self.writer.stop()
        if self._own_engine and self.engine is not None:
            self.engine.dispose()

    async def _start_shared_limits(self) -> None:
        """Connect the shared limits store when MINERVA_REDIS_URL is set. A store that does
        not answer yet is no reason not to start: requests fall back until it does."""
        if self.settings.redis_url is None:
            return
        from minerva_core.shared_limits import SharedLimits

        cfg = self.config
        shared = SharedLimits(self.settings.redis_url.get_secret_value(), prefix=cfg.shared_limits_prefix,
                              timeout=cfg.shared_limits_timeout_ms / 1000,
                              retry_after_failure=cfg.shared_limits_retry_s,
                              max_connections=cfg.shared_limits_connections)
        self.admission.shared = shared
        self.metrics.bind_shared(up=lambda: 0.0 if shared.outage else 1.0, backlog=self.admission.backlog)
        if await shared.ping():
            log.info("rate limits and budgets shared through %s (prefix %s)", shared.where, shared.prefix)

    def _on_swap(self, old: Snapshot | None, new: Snapshot, spend: dict[str, Decimal]) -> None:
        self.flags.on_snapshot(new.versions)
        if self.config.gc_freeze:
            # The snapshot is hundreds of thousands of long-lived objects; a full collection
            # walking them stalls the loop for ~0.2 s. Frozen, the collector skips them
            # (reference counting still frees an old snapshot when it is dropped).
            gc.freeze()
        now = datetime.now(UTC)
        for key_id, amount in spend.items():
            key = new.key_ids.get(key_id)
            if key is not None:
                self.admission.load_spend(key, amount, now)

    def ready(self) -> tuple[bool, str]:
        snapshot = self.snapshot
        if not self.started:
            return False, "gateway not started"
        if snapshot is None:
            error = self.store.last_error if self.store else None
            return False, "catalog not loaded" + (f": {error}" if error else "")
        n = len(snapshot.catalog.models)
        if n == 0:
            return False, "catalog loaded but empty (run the discover flow)"
        age = time.time() - snapshot.loaded_at
        listen = "listening" if self.store and self.store.listening else "polling"
        return True, f"catalog loaded: snapshot {snapshot.serial}, {n} models, {age:.0f} s old, {listen}"


__all__ = ["Gateway"]
