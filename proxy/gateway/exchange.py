"""One request's facts as the gateway learns them (filled by the route, the attempt loop
and the stream pump; turned into ledger rows by ``recording``). A plain mutable record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from minerva_core.routing import RoutingDecision
from proxy.gateway.state import KeyInfo, StrategyEntry

ZERO = Decimal(0)


@dataclass(slots=True)
class Exchange:
    request_id: str
    created_at: datetime
    started: float  # time.perf_counter() when the request arrived
    route: str  # "chat" (virtual key) or "admin" (admin token, api_key_id null)
    key: KeyInfo | None = None
    model_requested: str | None = None
    strategy: StrategyEntry | None = None
    decision: RoutingDecision | None = None
    stream: bool = False
    include_usage: bool = False
    estimated_tokens: int = 0
    admitted_tokens: int = 0  # taken from the tpm bucket (0 when refused)
    held: Decimal = ZERO  # budget reservation
    queued_s: float = 0.0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    attempted_model: str | None = None  # the candidate that served (or failed last)
    model_used: str | None = None  # what the upstream says served
    provider: str | None = None
    generation_id: str | None = None
    usage: dict[str, Any] | None = None
    cost_text: str | None = None  # usage.cost exactly as the upstream wrote it
    finish_reason: str | None = None
    status: str = "ok"  # ok | error | cancelled | timeout | rate_limited
    error_type: str | None = None
    http_status: int | None = None
    first_byte_at: float | None = None  # perf_counter when the client got its first byte
    upstream_s: float = 0.0  # time spent waiting on the upstream
    ended: float | None = None
    fallback_depth: int = 0
    outcome: str | None = None  # routing_decisions.outcome; None = derived from status
    recorded: bool = False

    def fail(self, status: str, error_type: str | None, http_status: int | None) -> None:
        self.status, self.error_type, self.http_status = status, error_type, http_status

    def finish(self) -> None:
        if self.ended is None:
            self.ended = time.perf_counter()

    @property
    def total_s(self) -> float:
        return (self.ended or time.perf_counter()) - self.started


__all__ = ["Exchange"]
