"""A durable local spool: append-only JSON-lines segments, sealed by rotation.

The request path appends one line per row to the open segment with a single write() on an
O_APPEND descriptor: once write() returns, the row survives the process being killed (it is
in the kernel's page cache). `fsync_every` adds fsyncs for power-loss durability when wanted.
Segments are named `{pid}-{token}-{seq:012d}.open` and renamed to `.sealed` on rotation; the open one
holds an exclusive flock, so another process can tell a live writer's segment from an orphan
left by a killed one (which it may then claim and replay).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import orjson

from minerva_core.ledger.records import DecisionRow, LedgerRow, from_document, to_document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    path: Path

    @property
    def sealed(self) -> bool:
        return self.path.suffix == ".sealed"


def _default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class Spool:
    def __init__(self, directory: Path, *, fsync_every: int = 0) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # pid plus a random token: unique per writer even for two spools in one process.
        self._prefix = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._seq = 1
        self._fd: int | None = None
        self._path: Path | None = None
        self._rows_in_open = 0
        self._fsync_every = fsync_every
        for leftover in self.directory.glob("*.creating"):  # a writer killed while creating one
            if _orphaned(leftover):  # never written to: rows go to a segment once it is .open
                leftover.unlink(missing_ok=True)
        self._open_segment()

    def _open_segment(self) -> None:
        self._path = self.directory / f"{self._prefix}-{self._seq:012d}.open"
        self._seq += 1
        # Locked before it is named *.open: another process must never see an unlocked open
        # segment of a live writer (it would claim it as an orphan and the rows written
        # after its claim would be lost). The lock stays with the file across the rename.
        creating = self._path.with_suffix(".creating")
        self._fd = os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(creating, self._path)
        self._rows_in_open = 0

    @property
    def pending_in_open(self) -> int:
        return self._rows_in_open

    def append(self, *rows: LedgerRow | DecisionRow) -> None:
        """Write rows durably (against process death) before returning."""
        if self._fd is None:
            raise RuntimeError("spool is closed")
        data = b"".join(orjson.dumps(to_document(r), default=_default) + b"\n" for r in rows)
        os.write(self._fd, data)
        self._rows_in_open += len(rows)
        if self._fsync_every and self._rows_in_open % self._fsync_every == 0:
            os.fsync(self._fd)

    def rotate(self) -> Path | None:
        """Seal the open segment if it holds rows; return the sealed path."""
        if self._fd is None or self._rows_in_open == 0:
            return None
        old_fd, old_path = self._fd, self._path
        self._open_segment()
        os.fsync(old_fd)
        sealed = old_path.with_suffix(".sealed")
        os.rename(old_path, sealed)
        os.close(old_fd)
        return sealed

    def close(self) -> Path | None:
        sealed = self.rotate()
        if self._fd is not None:
            os.close(self._fd)
            if self._path is not None and self._path.exists() and self._path.stat().st_size == 0:
                self._path.unlink()
            self._fd = None
        return sealed

    def ready_segments(self) -> list[Path]:
        """Sealed segments, plus orphaned open ones whose writer is gone, oldest first."""
        ready = list(self.directory.glob("*.sealed"))
        for path in self.directory.glob("*.open"):
            if path == self._path:
                continue
            if _orphaned(path):
                ready.append(path)
        return sorted(ready, key=_age)

    def depth(self) -> int:
        """Rows waiting on disk (sealed and orphaned segments plus the open one); for metrics."""
        return sum(_count_lines(p) for p in self.ready_segments()) + self._rows_in_open


def _age(path: Path) -> tuple[int, str]:
    """Sort key, oldest first; a segment sealed (renamed) since the scan sorts last and its
    stale path is skipped by the reader's FileNotFoundError handling."""
    try:
        return path.stat().st_mtime_ns, path.name
    except FileNotFoundError:
        return 2**63, path.name


def _orphaned(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.endswith(b"\n"))
    except FileNotFoundError:
        return 0


def read_segment(path: Path) -> Iterator[LedgerRow | DecisionRow]:
    """Rows of a segment; a torn last line (a crash mid-write) is skipped with a warning."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                log.warning("spool %s: skipping torn line %d", path.name, number)
                continue
            yield from_document(orjson.loads(line))
