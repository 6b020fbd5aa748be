"""The ledger's database side in a child process, off the gateway's event loop.

Moving spooled rows into PostgreSQL (read a segment, rebuild each row, COPY, INSERT … ON
CONFLICT) costs about as much CPU as serving the request did; in the proxy process it would
run on the one event loop every request needs. So the gateway process only appends to its
spool segment (one write(2) per request) and seals it every ``flush_interval``; a child
process runs ``minerva_core.ledger.LedgerWriter`` over the same spool directory, which moves
every sealed segment (and any orphaned one) into PostgreSQL and deletes it after commit.
Durability and replay are the ledger's: the spool format is unchanged, a segment is deleted
only after its transaction commits, and a replay cannot double a row.

Child:  ``python -m proxy.gateway.flusher SPOOL_DIR FLUSH_INTERVAL`` with the DSN in
        MINERVA_GATEWAY_FLUSHER_DSN (never in argv); it stops, after a last flush, when its
        stdin closes (the parent stopped or died) or on SIGTERM. It reports each flush as a
        line on stdout: ``ok ROWS`` or ``fail ERRORCLASS``.
Parent: ``ProcessLedger`` appends and seals, starts the child, restarts it if it dies, and
        keeps the counts it reports (for /metrics and readiness).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
DSN_ENV = "MINERVA_GATEWAY_FLUSHER_DSN"


# -- child ---------------------------------------------------------------------------------------
async def _child(spool_dir: Path, interval: float) -> None:
    from minerva_core.ledger import LedgerWriter

    writer = LedgerWriter(os.environ.pop(DSN_ENV), spool_dir, flush_interval=interval)
    stats = writer.stats
    await writer.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def watch_stdin() -> None:
        while await reader.read(1024):
            pass
        stop.set()

    reported = 0

    def report_now() -> None:
        nonlocal reported
        if stats.rows_written > reported:
            print(f"ok {stats.rows_written - reported}", flush=True)
            reported = stats.rows_written

    async def report() -> None:
        failures = 0
        while True:
            await asyncio.sleep(interval)
            if stats.flush_failures > failures:
                failures = stats.flush_failures
                print(f"fail {stats.last_error}", flush=True)
            report_now()

    tasks = [asyncio.create_task(watch_stdin()), asyncio.create_task(report())]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await writer.stop()
    report_now()


# -- parent --------------------------------------------------------------------------------------
@dataclass
class FlushStats:
    rows_written: int = 0
    flush_failures: int = 0
    last_error: str | None = None
    restarts: int = 0


class ProcessLedger:
    """The gateway's ledger: a spool in this process, the flusher in a child."""

    def __init__(self, dsn: str, spool_dir: Path, *, flush_interval: float = 0.2) -> None:
        from proxy.gateway.spool import FastSpool

        self.dsn = dsn
        self.spool_dir = Path(spool_dir)
        self.interval = flush_interval
        self.spool = FastSpool(self.spool_dir)
        self.stats = FlushStats()
        self._child: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    def record(self, ledger: Any, decision: Any = None) -> None:
        if decision is None:
            self.spool.append(ledger)
        else:
            self.spool.append(ledger, decision)

    async def start(self) -> None:
        await self._spawn()
        self._tasks = [asyncio.create_task(self._seal(), name="gateway-spool-seal"),
                       asyncio.create_task(self._supervise(), name="gateway-flusher")]

    async def _spawn(self) -> None:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "proxy.gateway.flusher", str(self.spool_dir), str(self.interval),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, DSN_ENV: self.dsn},
        )

    async def _seal(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.spool.rotate_async()
            except OSError as exc:  # rows stay in the open segment; the next round seals them
                log.error("sealing a ledger spool segment failed: %s", exc)

    async def _supervise(self) -> None:
        while not self._stopping:
            child = self._child
            assert child is not None and child.stdout is not None
            try:
                while line := await child.stdout.readline():
                    kind, _, value = line.decode(errors="replace").strip().partition(" ")
                    if kind == "ok" and value.isdigit():
                        self.stats.rows_written += int(value)
                    elif kind == "fail":
                        self.stats.flush_failures += 1
                        self.stats.last_error = value
                await child.wait()
            except (OSError, ValueError) as exc:
                log.error("lost the ledger flusher's reports (%s)", exc)
                if child.returncode is None:
                    child.kill()
                    await child.wait()
            if self._stopping:
                return
            # A SIGTERM sent to the whole process group reaches the child first; give this
            # process's own shutdown a moment to begin before calling the exit a failure.
            await asyncio.sleep(1.0)
            if self._stopping:
                return
            log.error("the ledger flusher exited (code %s); restarting it", child.returncode)
            self.stats.restarts += 1
            try:
                await self._spawn()
            except OSError as exc:
                log.error("could not restart the ledger flusher: %s", exc)
                await asyncio.sleep(5.0)

    async def stop(self, timeout: float = 15.0) -> None:
        """Seal what is left, let the child flush it, then stop it (rows it could not flush
        stay in the spool for the next start)."""
        self._stopping = True
        if self._tasks:
            self._tasks[0].cancel()
        self.spool.close()
        child = self._child
        if child is not None and child.returncode is None:
            assert child.stdin is not None
            child.stdin.close()
            try:
                await asyncio.wait_for(child.wait(), timeout)
            except asyncio.TimeoutError:
                child.kill()
                await child.wait()
        for task in self._tasks:
            task.cancel()
        self._tasks = []


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="flusher: %(message)s")
    asyncio.run(_child(Path(sys.argv[1]), float(sys.argv[2])))
