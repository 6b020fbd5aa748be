"""Ledger questions the reliability tests ask: rows per request id, within a deadline."""

from __future__ import annotations

import time
from collections import Counter
from typing import Iterable

from sqlalchemy import Engine, text


def ledger_counts(engine: Engine, request_ids: Iterable[str]) -> Counter[str]:
    """How many usage_ledger rows each of ``request_ids`` has (absent ids count 0)."""
    ids = list(request_ids)
    counts: Counter[str] = Counter({rid: 0 for rid in ids})
    with engine.connect() as conn:
        for rid, n in conn.execute(
            text("SELECT request_id, count(*) FROM usage_ledger WHERE request_id = ANY(:ids) GROUP BY request_id"),
            {"ids": ids},
        ):
            counts[rid] = n
    return counts


def await_exactly_one_row_each(engine: Engine, request_ids: Iterable[str], timeout: float) -> Counter[str]:
    """Wait until every id has a ledger row; return the final counts (the caller asserts
    that each is exactly 1, so a doubled row fails even when it arrived early)."""
    ids = list(request_ids)
    deadline = time.monotonic() + timeout
    while True:
        try:
            counts = ledger_counts(engine, ids)
        except Exception:  # the database may still be coming back
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        if all(counts[rid] >= 1 for rid in ids) or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


def problems(counts: Counter[str]) -> dict[str, int]:
    """Ids whose row count is not exactly one (lost: 0, doubled: 2+)."""
    return {rid: n for rid, n in counts.items() if n != 1}
