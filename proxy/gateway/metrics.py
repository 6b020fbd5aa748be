"""Prometheus metrics of the gateway, in a per-app CollectorRegistry (never the global one,
so two apps in a process do not share series). ``GET /metrics`` renders the text format.

    minerva_gateway_requests_total{route,status,model}    requests by outcome and served model
    minerva_gateway_errors_total{type}                     failed requests by error type
    minerva_gateway_upstream_attempts_total{model,outcome} every upstream attempt
    minerva_gateway_fallbacks_total{reason}                moves to the next candidate
    minerva_gateway_upstream_seconds                       time spent waiting on the upstream
    minerva_gateway_overhead_seconds                       total minus upstream time
    minerva_gateway_ttft_seconds                           first byte to the client
    minerva_gateway_spend_usd_total{model}                 upstream charge (float: metrics only)
    minerva_gateway_spool_rows                             ledger rows waiting in the spool
    minerva_gateway_snapshot_serial / _snapshot_age_seconds
    minerva_gateway_cooldowns_active                       models skipped right now
    minerva_gateway_queue_waiting                          requests waiting for a rate limit
    minerva_gateway_shared_limits_fallbacks_total{op}      decisions/settlements made in process
                                                           because the shared store was away
    minerva_gateway_shared_limits_up                       1 store answering, 0 away, -1 not configured
    minerva_gateway_shared_limits_backlog                  settlements waiting for the store
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025,
                    0.05, 0.1, 0.25, 1.0)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class GatewayMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("minerva_gateway_requests", "Gateway requests by route, ledger status and "
                                "served model", ["route", "status", "model"], registry=r)
        self.errors = Counter("minerva_gateway_errors", "Failed gateway requests by error type", ["type"],
                              registry=r)
        self.attempts = Counter("minerva_gateway_upstream_attempts", "Upstream attempts by model and outcome",
                                ["model", "outcome"], registry=r)
        self.fallbacks = Counter("minerva_gateway_fallbacks", "Moves to the next candidate model, by reason",
                                 ["reason"], registry=r)
        self.upstream = Histogram("minerva_gateway_upstream_seconds", "Time spent waiting on the upstream",
                                  buckets=LATENCY_BUCKETS, registry=r)
        self.overhead = Histogram("minerva_gateway_overhead_seconds",
                                  "Minerva's own time per request (total minus upstream)",
                                  buckets=OVERHEAD_BUCKETS, registry=r)
        self.ttft = Histogram("minerva_gateway_ttft_seconds", "Time to the first byte sent to the client",
                              buckets=LATENCY_BUCKETS, registry=r)
        self.spend = Counter("minerva_gateway_spend_usd", "Upstream charge in USD (float; the ledger is exact)",
                             ["model"], registry=r)
        self.spool = Gauge("minerva_gateway_spool_rows", "Ledger rows waiting in the local spool", registry=r)
        self.serial = Gauge("minerva_gateway_snapshot_serial", "Serial of the live snapshot", registry=r)
        self.age = Gauge("minerva_gateway_snapshot_age_seconds", "Seconds since the snapshot was loaded",
                         registry=r)
        self.cooling = Gauge("minerva_gateway_cooldowns_active", "Models cooling down now", registry=r)
        self.queued = Gauge("minerva_gateway_queue_waiting", "Requests waiting for a rate limit", registry=r)
        self.shared_fallbacks = Counter("minerva_gateway_shared_limits_fallbacks",
                                        "Admissions, reservations and settlements done in process because "
                                        "the shared limits store was away", ["op"], registry=r)
        self.shared_up = Gauge("minerva_gateway_shared_limits_up", "Shared limits store: 1 answering, 0 away, "
                               "-1 not configured", registry=r)
        self.shared_backlog = Gauge("minerva_gateway_shared_limits_backlog",
                                    "Budget settlements waiting for the shared store", registry=r)
        self.shared_up.set(-1)
        self._children: dict[tuple, Any] = {}

    def bind(self, *, spool_depth: Callable[[], float], snapshot: Callable[[], Any],
             cooling: Callable[[], float], queued: Callable[[], float]) -> None:
        """Gauges read at scrape time (nothing is kept up to date on the request path)."""
        self.spool.set_function(spool_depth)
        self.serial.set_function(lambda: getattr(snapshot(), "serial", 0))
        self.age.set_function(lambda: time.time() - snapshot().loaded_at if snapshot() is not None else -1)
        self.cooling.set_function(cooling)
        self.queued.set_function(queued)

    def bind_shared(self, *, up: Callable[[], float], backlog: Callable[[], float]) -> None:
        """The shared limits store's gauges (only when MINERVA_REDIS_URL is set)."""
        self.shared_up.set_function(up)
        self.shared_backlog.set_function(backlog)

    def shared_fallback(self, op: str) -> None:
        self._child(self.shared_fallbacks, op).inc()

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def attempt(self, model: str, outcome: str) -> None:
        self._child(self.attempts, model, outcome).inc()

    def fallback(self, reason: str) -> None:
        self._child(self.fallbacks, reason).inc()

    def observe(self, ex: Any, row: Any) -> None:
        """One finished request (called by the recorder)."""
        model = row.model_used or "none"
        self._child(self.requests, ex.route, ex.status, model).inc()
        if ex.status != "ok":
            self._child(self.errors, row.error_type or ex.status).inc()
        total = ex.total_s
        if ex.attempts:
            self.upstream.observe(ex.upstream_s)
        self.overhead.observe(max(0.0, total - ex.upstream_s - ex.queued_s))
        if ex.first_byte_at is not None:
            self.ttft.observe(ex.first_byte_at - ex.started)
        if row.cost_usd:
            self._child(self.spend, model).inc(float(row.cost_usd))

    def render(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["GatewayMetrics"]
