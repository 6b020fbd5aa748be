"""The ledger writer: rows go to the spool on the request path; a background task seals
segments and moves them into PostgreSQL in batches (COPY into a staging table, then one
INSERT … ON CONFLICT DO NOTHING), deleting a segment only after its transaction commits."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from minerva_core.ledger.records import DECISION_COLUMNS, LEDGER_COLUMNS, DecisionRow, LedgerRow
from minerva_core.ledger.spool import Spool, read_segment

log = logging.getLogger(__name__)

_JSON_COLUMNS = {"usage", "reasoning", "attempts"}


@dataclass
class WriterStats:
    rows_written: int = 0
    decisions_written: int = 0
    segments_flushed: int = 0
    flush_failures: int = 0
    last_error: str | None = None
    last_flush_at: float | None = None


class LedgerWriter:
    def __init__(
        self,
        dsn: str,
        spool_dir: Path,
        *,
        flush_interval: float = 0.2,
        max_backoff: float = 5.0,
        fsync_every: int = 0,
    ) -> None:
        self._dsn = dsn
        self.spool = Spool(spool_dir, fsync_every=fsync_every)
        self._interval = flush_interval
        self._max_backoff = max_backoff
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.stats = WriterStats()

    # The request path -------------------------------------------------------------------
    def record(self, ledger: LedgerRow, decision: DecisionRow | None = None) -> None:
        """Durable against process death once this returns; the database write happens later."""
        rows = (ledger, decision) if decision is not None else (ledger,)
        self.spool.append(*rows)

    # Lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-flusher")

    async def stop(self, timeout: float = 10.0) -> None:
        """Seal and flush what is left (within `timeout`); rows not flushed stay spooled."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except asyncio.TimeoutError:
                self._task.cancel()
        self.spool.close()
        try:
            await asyncio.wait_for(self.flush_ready(), timeout)
        except Exception as exc:  # the rows stay in the spool for the next start
            log.warning("final ledger flush incomplete (%s); rows stay spooled", exc.__class__.__name__)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def nudge(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        backoff = self._interval
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._wake.wait(), backoff)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            self.spool.rotate()
            try:
                await self.flush_ready()
            except (psycopg.Error, OSError) as exc:
                self.stats.flush_failures += 1
                self.stats.last_error = exc.__class__.__name__
                backoff = min(self._max_backoff, max(backoff * 2, 0.5))
                log.warning("ledger flush failed (%s); rows stay spooled, retry in %.1fs", exc.__class__.__name__, backoff)
                await self._drop_connection()
            else:
                backoff = self._interval

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:  # already broken; nothing to release
                pass
            self._conn = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._dsn, connect_timeout=3)
        return self._conn

    # Moving segments into PostgreSQL ---------------------------------------------------
    async def flush_ready(self) -> int:
        written = 0
        for segment in self.spool.ready_segments():
            try:
                rows = list(read_segment(segment))
            except FileNotFoundError:  # renamed or flushed since the scan: the next round sees it
                continue
            ledger = [r for r in rows if isinstance(r, LedgerRow)]
            decisions = [r for r in rows if isinstance(r, DecisionRow)]
            conn = await self._connection()
            async with conn.transaction():
                await _copy_insert(conn, "usage_ledger", LEDGER_COLUMNS, ledger, "ON CONFLICT DO NOTHING")
                await _copy_insert(
                    conn, "routing_decisions", DECISION_COLUMNS, decisions, "ON CONFLICT (request_id) DO NOTHING"
                )
                if ledger:
                    await _touch_keys(conn)
            segment.unlink(missing_ok=True)
            self.stats.rows_written += len(ledger)
            self.stats.decisions_written += len(decisions)
            self.stats.segments_flushed += 1
            self.stats.last_flush_at = time.time()
            written += len(ledger)
        return written


_TOUCH_KEYS = (
    "UPDATE api_keys k SET last_used_at = s.at"
    "  FROM (SELECT api_key_id, max(created_at) AS at FROM _stage_usage_ledger"
    "         WHERE api_key_id IS NOT NULL GROUP BY 1) s"
    " WHERE k.id = s.api_key_id AND (k.last_used_at IS NULL OR k.last_used_at < s.at)"
)


async def _touch_keys(conn) -> None:
    """api_keys.last_used_at from the batch just staged: one statement per segment, never
    per request (the column is outside the api_keys change trigger, so no reload follows)."""
    async with conn.cursor() as cur:
        await cur.execute(_TOUCH_KEYS)


async def _copy_insert(conn, table: str, columns, rows, conflict: str) -> None:
    if not rows:
        return
    stage = f"_stage_{table}"
    cols = ", ".join(columns)
    async with conn.cursor() as cur:
        await cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            f"SELECT {cols} FROM {table} WITH NO DATA"
        )
        async with cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(
                    [Jsonb(getattr(row, c)) if c in _JSON_COLUMNS and getattr(row, c) is not None else getattr(row, c) for c in columns]
                )
        await cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} {conflict}")
