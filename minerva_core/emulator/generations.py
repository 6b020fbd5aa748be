"""Finished generations, as GET /generation reports them.

A generation becomes visible only `delay` after it finished, as on the real service, where
the record lags the response. The newest `limit` records are kept (the bill, in activity's
Ledger, keeps every generation's cost).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterator

from minerva_core.pricing import CostBreakdown, Usage


@dataclass(frozen=True, slots=True)
class Generation:
    id: str
    request_id: str
    upstream_id: str
    created_at: datetime
    model_id: str
    permaslug: str
    router: str | None
    provider_name: str
    endpoint_id: str
    api_key: str
    streamed: bool
    cancelled: bool
    finish_reason: str | None
    usage: Usage
    cost: CostBreakdown
    cache_discount: Decimal | None
    latency_ms: int | None
    generation_time_ms: int
    media: int
    provider_responses: tuple[dict[str, Any], ...]
    user: str | None = None
    origin: str = ""
    user_agent: str | None = None
    http_referer: str | None = None

    @property
    def total_cost(self) -> Decimal:
        return self.cost.total


class GenerationStore:
    def __init__(self, delay_ms: int, limit: int = 200_000) -> None:
        self._delay = delay_ms / 1000
        self._limit = limit
        self._records: dict[str, tuple[Generation, float]] = {}

    def add(self, generation: Generation, *, finished_at: float | None = None) -> None:
        finished = time.monotonic() if finished_at is None else finished_at
        self._records[generation.id] = (generation, finished + self._delay)
        if len(self._records) > self._limit:
            del self._records[next(iter(self._records))]

    def visible(self, generation_id: str, *, now: float | None = None) -> Generation | None:
        """The record, once its delay has passed; None before that or when unknown."""
        entry = self._records.get(generation_id)
        if entry is None:
            return None
        generation, ready_at = entry
        current = time.monotonic() if now is None else now
        return generation if current >= ready_at else None

    def __iter__(self) -> Iterator[Generation]:
        return (generation for generation, _ in self._records.values())

    def __len__(self) -> int:
        return len(self._records)

    def clear(self) -> None:
        self._records.clear()
