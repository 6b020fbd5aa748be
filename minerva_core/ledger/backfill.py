"""The ledger's upstream charge, always filled: cost_usd from OpenRouter's /generation.

The proxy stores ``usage.cost`` when the response carries it (cost_source ``response``).
Rows without it wait with cost_usd NULL and a generation id (the partial index
``usage_ledger_cost_pending``); the backfill flow reads each such generation and writes its
``total_cost`` here. This module is the part that needs no network:

* reading a /generation body with exact numbers (``read_generation``: ``json.loads`` with
  ``parse_float=Decimal``; orjson would hand back floats);
* what to write (``plan_updates``): the charge, and the token counts the row lacks (a column
  still 0 takes the generation's native count; a count we already have is never changed);
* ``resolve_generations``: every generation fetched, at most ``concurrency`` at once, through
  /generation's eventual-consistency 404s on a bounded exponential ``Backoff``; the fetch
  itself is injected (the flow passes an HTTP one, tests a fake);
* the SQL lives beside it in ``backfill_store``.

No httpx, sqlalchemy or prefect here.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Awaitable, Callable, Iterable, Mapping

from minerva_core.errors import UpstreamError, UpstreamProtocolError

COST_SOURCE = "generation_api"
ALERT_KIND = "ledger.cost_missing"
#: Ledger column <- /generation field; a column still 0 takes the native (billed) count.
TOKEN_FIELDS: tuple[tuple[str, str], ...] = (
    ("prompt_tokens", "native_tokens_prompt"),
    ("completion_tokens", "native_tokens_completion"),
    ("reasoning_tokens", "native_tokens_reasoning"),
    ("cached_tokens", "native_tokens_cached"),
)


@dataclass(frozen=True, slots=True)
class PendingRow:
    """A ledger row waiting for its charge (its key, generation id and current tokens)."""

    request_id: str
    created_at: datetime
    generation_id: str
    tokens: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GenerationCharge:
    generation_id: str
    total_cost: Decimal
    native_tokens: Mapping[str, int | None] = field(default_factory=dict)  # by ledger column
    is_byok: bool | None = None


@dataclass(frozen=True, slots=True)
class ChargeUpdate:
    request_id: str
    created_at: datetime
    cost_usd: Decimal
    token_fill: Mapping[str, int]  # only the columns to fill
    is_byok: bool | None = None


# -- reading /generation ------------------------------------------------------------------


def read_generation(content: bytes | str) -> GenerationCharge:
    """The charge of a /generation body, exactly (numbers parsed as Decimal, never float)."""
    try:
        body = json.loads(content, parse_float=Decimal)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise UpstreamProtocolError(f"/generation answered with a body that is not JSON: {exc}") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise UpstreamProtocolError("/generation answered without a data object")
    return charge_from_generation(data)


def charge_from_generation(data: Mapping[str, Any]) -> GenerationCharge:
    generation_id = data.get("id")
    cost = _money(data.get("total_cost"))
    if cost is None or not isinstance(generation_id, str):
        raise UpstreamProtocolError(
            f"/generation record {generation_id!r} has no usable total_cost: {data.get('total_cost')!r}"
        )
    byok = data.get("is_byok")
    return GenerationCharge(
        generation_id=generation_id,
        total_cost=cost,
        native_tokens={col: _count(data.get(key)) for col, key in TOKEN_FIELDS},
        is_byok=byok if isinstance(byok, bool) else None,
    )


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value) if isinstance(value, (int, str)) else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() and amount >= 0 else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


# -- what to write ------------------------------------------------------------------------


def token_fill(row: PendingRow, charge: GenerationCharge) -> dict[str, int]:
    """Columns the row has at 0 for which the generation reports a native count above 0."""
    fill = {}
    for column, _ in TOKEN_FIELDS:
        native = charge.native_tokens.get(column)
        if native and not row.tokens.get(column):
            fill[column] = native
    return fill


def plan_updates(rows: Iterable[PendingRow], charges: Mapping[str, GenerationCharge]) -> list[ChargeUpdate]:
    """One update per row whose generation was found, in the rows' order."""
    return [
        ChargeUpdate(row.request_id, row.created_at, charge.total_cost, token_fill(row, charge), charge.is_byok)
        for row in rows
        if (charge := charges.get(row.generation_id)) is not None
    ]


# -- fetching through eventual consistency ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between /generation attempts while it answers 404: base_delay doubling up to
    max_delay, at most ``attempts`` tries and ``max_total_seconds`` of waiting per generation.
    A generation older than ``settle_seconds`` that is still unknown will not appear within
    seconds: it gets one try per run (the next run tries again)."""

    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_total_seconds: float = 20.0
    settle_seconds: float = 600.0

    def delays(self, age_seconds: float = 0.0) -> tuple[float, ...]:
        if age_seconds > self.settle_seconds:
            return ()
        out: list[float] = []
        total = 0.0
        for attempt in range(max(self.attempts, 1) - 1):
            wait = min(self.max_delay, self.base_delay * 2**attempt, self.max_total_seconds - total)
            if wait <= 0:
                break
            out.append(wait)
            total += wait
        return tuple(out)


Fetch = Callable[[str], Awaitable["bytes | None"]]  # body, or None while /generation says 404


@dataclass(slots=True)
class Resolution:
    charges: dict[str, GenerationCharge] = field(default_factory=dict)
    not_found: list[str] = field(default_factory=list)  # still 404 after the backoff
    invalid: dict[str, str] = field(default_factory=dict)  # answered, but unusable
    failed: dict[str, str] = field(default_factory=dict)  # transient upstream failures
    retried_404: int = 0  # 404 answers waited through (eventual consistency at work)

    def counts(self) -> dict[str, int]:
        return {"found": len(self.charges), "not_found": len(self.not_found),
                "invalid": len(self.invalid), "failed": len(self.failed),
                "retried_404": self.retried_404}


async def resolve_generations(
    ages: Mapping[str, float],
    fetch: Fetch,
    *,
    backoff: Backoff = Backoff(),
    concurrency: int = 8,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Resolution:
    """Fetch every generation id of ``ages`` (id -> age in seconds). Transient upstream
    failures (after the fetch's own retries) and unusable bodies are recorded per id; any
    other upstream error (401, 402, 403 ...) would fail every id alike, so it is raised."""
    gate = asyncio.Semaphore(max(concurrency, 1))
    out = Resolution()

    async def one(generation_id: str) -> None:
        waits = backoff.delays(ages[generation_id])
        for attempt in range(len(waits) + 1):
            async with gate:
                try:
                    body = await fetch(generation_id)
                except UpstreamError as exc:
                    if not exc.retryable:
                        raise
                    out.failed[generation_id] = f"{exc.__class__.__name__}: {exc}"
                    return
            if body is not None:
                try:
                    out.charges[generation_id] = read_generation(body)
                except UpstreamProtocolError as exc:
                    out.invalid[generation_id] = str(exc)
                return
            if attempt < len(waits):
                out.retried_404 += 1
                await sleep(waits[attempt])
        out.not_found.append(generation_id)

    try:
        async with asyncio.TaskGroup() as group:
            for generation_id in sorted(ages):
                group.create_task(one(generation_id))
    except BaseExceptionGroup as failures:  # the siblings are cancelled; raise the cause itself
        raise failures.exceptions[0] from None
    out.not_found.sort()
    return out


__all__ = [
    "ALERT_KIND", "COST_SOURCE", "TOKEN_FIELDS", "Backoff", "ChargeUpdate", "Fetch",
    "GenerationCharge", "PendingRow", "Resolution", "charge_from_generation", "plan_updates",
    "read_generation", "resolve_generations", "token_fill",
]
