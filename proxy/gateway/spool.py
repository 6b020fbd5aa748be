"""A cheaper spool append for the request path.

``minerva_core.ledger``'s ``to_document`` turns a row into a dict with
``dataclasses.asdict``, which deep-copies every nested value (the decision's reasoning, the
attempts): about 0.4 ms per request, most of the gateway's own CPU time. ``fast_document``
builds the same document shallowly (orjson serialises nested values itself) and
``FastSpool`` writes it with the same single ``write(2)``; the segment format is unchanged,
so the writer's replay (``read_segment`` / ``from_document``) reads it as before. A test
checks the two documents are equal. Folding this into ``to_document`` upstream would make
this module unnecessary.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from minerva_core.ledger import DecisionRow, LedgerRow, LedgerWriter, Spool

_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in (LedgerRow, DecisionRow)}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def fast_document(row: LedgerRow | DecisionRow) -> dict[str, Any]:
    """What ``to_document(row)`` returns, without deep copies."""
    doc = {name: getattr(row, name) for name in _FIELDS[type(row)]}
    doc["t"] = row.KIND
    doc["created_at"] = row.created_at.isoformat()
    return doc


def encode(*rows: LedgerRow | DecisionRow) -> bytes:
    # Decimals go through `default` as str, exactly as to_document's str(Decimal).
    return b"".join(orjson.dumps(fast_document(r), default=_default) + b"\n" for r in rows)


class FastSpool(Spool):
    def append(self, *rows: LedgerRow | DecisionRow) -> None:
        if self._fd is None:
            raise RuntimeError("spool is closed")
        os.write(self._fd, encode(*rows))
        self._rows_in_open += len(rows)
        if self._fsync_every and self._rows_in_open % self._fsync_every == 0:
            os.fsync(self._fd)


    async def rotate_async(self) -> Path | None:
        """``rotate`` with its fsync, rename and close in a worker thread: appends go to the
        new segment at once, and the event loop never waits on the disk."""
        if self._fd is None or self._rows_in_open == 0:
            return None
        old_fd, old_path = self._fd, self._path
        assert old_path is not None
        self._open_segment()

        def seal() -> Path:
            os.fsync(old_fd)
            sealed = old_path.with_suffix(".sealed")
            os.rename(old_path, sealed)
            os.close(old_fd)
            return sealed

        return await asyncio.to_thread(seal)


class GatewayLedgerWriter(LedgerWriter):
    """LedgerWriter with the FastSpool (same directory, same segments, same flusher)."""

    def __init__(self, dsn: str, spool_dir: Path, **options: Any) -> None:
        super().__init__(dsn, spool_dir, **options)
        self.spool.close()  # the plain spool's empty open segment is removed
        self.spool = FastSpool(spool_dir, fsync_every=options.get("fsync_every", 0))


__all__ = ["FastSpool", "GatewayLedgerWriter", "encode", "fast_document"]
