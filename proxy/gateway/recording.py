"""Ledger rows: one usage_ledger row and one routing_decisions row per accepted request.

Which requests are "accepted" (get rows): every request with a valid key (or the admin
token) and a well-formed body that names a known, allowed model, from the moment admission
starts. So a 429 from the key's rate limit (status rate_limited), a 402 over budget (status
error, error_type budget_exceeded), a request no model can serve (outcome no_candidate),
upstream failures, cancellations and timeouts are all recorded. Not recorded: 401, 400,
403, 404 and 413, which are refused before admission.

``ledger_row`` and ``decision_row`` are pure; the ``Recorder`` appends both to the durable
spool (one write(2) per batch; the database write happens in the flusher process), settles
the key's budget with the exact charge and its token bucket with the real token count, and
updates metrics. By default (``record_delay`` 0) it does so at once, so a request's rows are
in the spool before its answer is complete and survive the process being killed. A small
delay (MINERVA_GATEWAY_RECORD_DELAY_MS) batches the work while the loop waits on upstreams,
at the price that a crash in that moment loses those rows.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from minerva_core.errors import MinervaError
from minerva_core.ledger import DecisionRow, LedgerRow
from minerva_core.pricing import Pricing, Usage, compute_cost
from proxy.gateway.admission import AdmissionControl
from proxy.gateway.exchange import Exchange

log = logging.getLogger(__name__)
_COST = re.compile(rb'"cost"\s*:\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)')


def cost_digits(raw: bytes) -> str | None:
    """The digits of ``usage.cost`` exactly as sent (a JSON float would lose them). A raw
    ``"cost":`` can only be a key: inside a JSON string its quotes would be escaped."""
    at = raw.rfind(b'"usage"')
    if at < 0:
        return None
    match = _COST.search(raw, at)
    return match.group(1).decode("ascii") if match else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_columns(usage: Mapping[str, Any] | None) -> dict[str, int]:
    if not usage:
        return {}
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    tools = usage.get("server_tool_use_details") or {}
    return {
        "prompt_tokens": _int(usage.get("prompt_tokens")),
        "completion_tokens": _int(usage.get("completion_tokens")),
        "reasoning_tokens": _int(completion.get("reasoning_tokens")),
        "cached_tokens": _int(prompt.get("cached_tokens")),
        "cache_write_tokens": _int(prompt.get("cache_write_tokens")),
        "audio_tokens": _int(prompt.get("audio_tokens")),
        "web_search_count": _int(tools.get("web_search_requests")),
    }


def upstream_cost(ex: Exchange) -> Decimal | None:
    if ex.cost_text is not None:
        try:
            return Decimal(ex.cost_text)
        except InvalidOperation:
            pass
    cost = (ex.usage or {}).get("cost")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        return Decimal(repr(cost))
    return None


def our_cost(pricing: Pricing | None, usage: Mapping[str, Any] | None, ex: Exchange) -> Decimal | None:
    """Our own cost from the current prices; None when a price is missing or the upstream's
    usage contradicts itself (both happen; neither is worth failing a request over)."""
    if pricing is None or not usage:
        return None
    try:
        return compute_cost(pricing, Usage.from_openrouter(usage), at=ex.created_at).total
    except (MinervaError, ValueError, TypeError):
        return None


CostFn = Callable[[Pricing | None, Mapping[str, Any] | None, Exchange], Decimal | None]


def ledger_row(ex: Exchange, prices: Mapping[str, Pricing], cost_fn: CostFn | None = None) -> LedgerRow:
    """``cost_fn``: how to compute our cost (default ``our_cost``; the recorder memoises it)."""
    cost = upstream_cost(ex)
    model = ex.model_used or ex.attempted_model
    pricing = prices.get(model) if model else None
    if pricing is None and ex.attempted_model:
        pricing = prices.get(ex.attempted_model)
    usage = ex.usage
    first = ex.first_byte_at
    return LedgerRow(
        request_id=ex.request_id,
        created_at=ex.created_at,
        status=ex.status,
        generation_id=ex.generation_id,
        api_key_id=ex.key.id if ex.key else None,
        app=(ex.key.app or None) if ex.key else None,  # never "" (the views group "" with NULL)
        strategy=ex.strategy.name if ex.strategy else None,
        model_requested=ex.model_requested,
        model_used=model if ex.attempts else None,
        provider_name=ex.provider,
        cost_usd=cost,
        cost_estimated_usd=(cost_fn or our_cost)(pricing, usage, ex),
        cost_source="response" if cost is not None else None,
        is_byok=usage.get("is_byok") if usage and isinstance(usage.get("is_byok"), bool) else None,
        usage=dict(usage) if usage else None,
        latency_ms=max(0, round(ex.total_s * 1000)),
        ttft_ms=None if first is None else max(0, round((first - ex.started) * 1000)),
        error_type=None if ex.status == "ok" else (ex.error_type or ex.status),
        http_status=ex.http_status,
        finish_reason=ex.finish_reason,
        fallback_depth=ex.fallback_depth,
        streamed=ex.stream,
        **usage_columns(usage),
    )


def decision_row(ex: Exchange, reasoning: dict[str, Any] | None = None) -> DecisionRow:
    """``reasoning``: the decision's reasoning_record() when the caller has it memoised."""
    d = ex.decision
    outcome = ex.outcome or {"ok": "ok", "cancelled": "cancelled"}.get(ex.status, "error")
    if reasoning is None:
        reasoning = d.reasoning_record() if d is not None else {}
    if ex.queued_s:
        reasoning = {**reasoning, "queued_ms": round(ex.queued_s * 1000)}
    if d is None and ex.status != "ok":
        reasoning = {**reasoning, "rejected": ex.error_type or ex.status}
    return DecisionRow(
        request_id=ex.request_id,
        created_at=ex.created_at,
        api_key_id=ex.key.id if ex.key else None,
        strategy=ex.strategy.name if ex.strategy else None,
        strategy_version=ex.strategy.version if ex.strategy else None,
        model_requested=ex.model_requested,
        selected_model=d.selected_model if d else None,
        selected_provider=ex.provider if d and ex.attempted_model == d.selected_model else None,
        fallback_models=list(d.fallback_models) if d else [],
        reasoning=reasoning,
        estimated_cost=d.estimated_cost if d else None,
        estimated_latency_ms=None if d is None or d.estimated_latency_ms is None else round(d.estimated_latency_ms),
        confidence_score=None if d is None else Decimal(str(d.confidence_score)),
        attempts=list(ex.attempts),
        outcome=outcome,
    )


class Recorder:
    def __init__(self, writer: Any, admission: AdmissionControl, metrics: Any, *, delay: float = 0.0,
                 memo_size: int = 4096) -> None:
        self.writer = writer  # anything with .spool.append(*rows): ProcessLedger, GatewayLedgerWriter
        self.admission = admission
        self.metrics = metrics
        self.delay = delay
        self.memo_size = memo_size
        self._pending: list[tuple[Exchange, Mapping[str, Pricing]]] = []
        self._timer: asyncio.TimerHandle | None = None
        # Decisions are memoised per snapshot, so their reasoning records are too (the
        # decision is kept beside its record, so an id is never reused while cached).
        self._reasoning: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._costs: dict[tuple, tuple[Pricing, Decimal | None]] = {}

    def our_cost(self, pricing: Pricing | None, usage: Mapping[str, Any] | None, ex: Exchange) -> Decimal | None:
        """``our_cost`` memoised on (pricing, token counts): compute_cost is pure, and only
        UTC time-window prices depend on the time (those are not memoised)."""
        if pricing is None or not usage or pricing.has_time_windows:
            return our_cost(pricing, usage, ex)
        memo_key = (id(pricing), *usage_columns(usage).values())
        hit = self._costs.get(memo_key)
        if hit is not None and hit[0] is pricing:
            return hit[1]
        if len(self._costs) >= self.memo_size:
            self._costs.clear()
        cost = our_cost(pricing, usage, ex)
        self._costs[memo_key] = (pricing, cost)
        return cost

    def reasoning(self, decision: Any) -> dict[str, Any]:
        if decision is None:
            return {}
        hit = self._reasoning.get(id(decision))
        if hit is not None and hit[0] is decision:
            return hit[1]
        if len(self._reasoning) >= self.memo_size:
            self._reasoning.clear()
        record = decision.reasoning_record()
        self._reasoning[id(decision)] = (decision, record)
        return record

    # -- recording ------------------------------------------------------------------------
    def defer(self, ex: Exchange, prices: Mapping[str, Pricing]) -> None:
        """Record ``ex`` a moment later (``delay`` seconds), in a batch: the work then runs
        while the event loop would otherwise wait on upstreams, not in front of the next
        request, and the spool gets one write(2) per batch. With ``delay`` 0 the request is
        recorded at once. The request's end time is taken now."""
        ex.finish()
        if self.delay <= 0:
            self.finish(ex, prices)
            return
        self._pending.append((ex, prices))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay, self.drain)

    def drain(self) -> None:
        """Record everything deferred (the timer's callback; also called at shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        rows: list[Any] = []
        for ex, prices in pending:
            rows += self._record(ex, prices)
        if rows and self.writer is not None:
            try:
                self.writer.spool.append(*rows)
            except Exception:  # the spool is the ledger's only way in: say so loudly
                log.exception("%d ledger rows could not be spooled", len(rows))

    def finish(self, ex: Exchange, prices: Mapping[str, Pricing]) -> None:
        """Record once, now (later calls do nothing); never raises into the request."""
        rows = self._record(ex, prices)
        if rows and self.writer is not None:
            try:
                self.writer.spool.append(*rows)
            except Exception:
                log.exception("ledger rows of %s could not be spooled", ex.request_id)

    def _record(self, ex: Exchange, prices: Mapping[str, Pricing]) -> list[Any]:
        if ex.recorded:
            return []
        ex.recorded = True
        ex.finish()
        try:
            row = ledger_row(ex, prices, self.our_cost)
            key = ex.key
            if key is not None:
                charge = row.cost_usd if row.cost_usd is not None else row.cost_estimated_usd
                self.admission.settle(key, ex.held, charge, ex.created_at)
                if ex.admitted_tokens:
                    self.admission.settle_tokens(key, ex.admitted_tokens, row.prompt_tokens + row.completion_tokens)
            self.metrics.observe(ex, row)
            return [row, decision_row(ex, self.reasoning(ex.decision))]
        except Exception:  # a ledger failure must not fail a request that was served
            log.exception("recording request %s failed", ex.request_id)
            return []


__all__ = ["Recorder", "cost_digits", "decision_row", "ledger_row", "our_cost", "upstream_cost", "usage_columns"]
