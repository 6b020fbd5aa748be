"""The backfill flow: every ledger row with a generation id ends with its upstream charge.

    backfill_costs(limit=500, lookback_hours=72, concurrency=8)

Every 5 minutes (deployments/prefect.yaml, queue ``finance``): select the rows still without
cost_usd inside the lookback window (oldest first, at most ``limit``), read each generation
from OpenRouter's /generation with exact decimals, retrying through its eventual-consistency
404s on a bounded backoff, and write the charges where cost_usd is still NULL. Rows still
unknown stay NULL for the next run; rows past the lookback that never got a charge are
counted, and raise one ``ledger.cost_missing`` system alert per newly-missing batch. The logic
is ``minerva_core.ledger.backfill`` (pure) and ``backfill_store`` (SQL); these are the I/O steps.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import OperationalError

from flows import _gate, _runtime
from minerva_core.errors import NotFound
from minerva_core.ledger.backfill import Backoff, PendingRow, Resolution, plan_updates, resolve_generations
from minerva_core.ledger.backfill_store import MissingReport, report_missing, select_pending, write_charges
from minerva_core.providers import RetryPolicy, new_client
from minerva_core.providers.http import auth_headers, request_with_retries


def retry_on_io(task, task_run, state) -> bool:
    """Retry a database step only when the connection was lost."""
    try:
        state.result()
    except OperationalError:
        return True
    except Exception:
        return False
    return False


_DB = {"retries": 2, "retry_delay_seconds": [2, 10], "retry_condition_fn": retry_on_io, "cache_policy": NO_CACHE}


@task(name="select-pending-costs", **_DB)
def select_pending_rows(limit: int, since: datetime) -> list[PendingRow]:
    with _runtime.engine().connect() as conn:
        return select_pending(conn, since=since, limit=limit)


@task(name="fetch-generations", cache_policy=NO_CACHE)
def fetch_generations(ages: dict[str, float], concurrency: int, backoff: Backoff,
                      base_url: str | None = None) -> Resolution:
    """GET /generation?id= for each id; the body bytes are parsed with exact decimals.
    429/5xx/timeouts are retried by the HTTP layer; 404 means "not visible yet" (backoff)."""
    cfg = _runtime.settings()
    # No key at all means `minerva up` serves the built-in emulator, which takes any bearer.
    key = _runtime.openrouter_key(cfg) or ("minerva-emulator" if cfg.uses_emulator else None)
    url = f"{(base_url or cfg.openrouter_base_url).rstrip('/')}/generation"
    headers = auth_headers(key)

    async def _all() -> Resolution:
        async with new_client() as client:

            async def fetch(generation_id: str) -> bytes | None:
                try:
                    response = await request_with_retries(
                        lambda: client.get(url, params={"id": generation_id}, headers=headers),
                        policy=RetryPolicy(), provider="openrouter",
                    )
                except NotFound:
                    return None
                return response.content

            return await resolve_generations(ages, fetch, backoff=backoff, concurrency=concurrency)

    return asyncio.run(_all())


@task(name="write-charges", **_DB)
def write_charges_task(rows: list[PendingRow], resolution: Resolution) -> int:
    updates = plan_updates(rows, resolution.charges)
    if not updates:
        return 0
    with _runtime.engine().begin() as conn:
        return write_charges(conn, updates)


@task(name="report-missing-costs", **_DB)
def report_missing_task(cutoff: datetime, lookback: timedelta) -> MissingReport:
    with _runtime.engine().begin() as conn:
        return report_missing(conn, cutoff=cutoff, lookback=lookback)


@flow(name="backfill_costs")
def backfill_costs(
    limit: int = 500,
    lookback_hours: int = 72,
    concurrency: int = 8,
    max_wait_seconds: float = 20.0,
    base_url: str | None = None,
) -> dict:
    """Fill cost_usd from /generation for up to ``limit`` pending rows of the last
    ``lookback_hours``; ``max_wait_seconds`` bounds the wait through 404s per generation."""
    if limit < 1 or lookback_hours < 1 or concurrency < 1 or max_wait_seconds < 0:
        raise ValueError("limit, lookback_hours and concurrency must be >= 1, max_wait_seconds >= 0")
    skipped = _gate.skip_unless("provider")
    if skipped is not None:
        return skipped
    log = get_run_logger()
    now = datetime.now(timezone.utc)
    lookback = timedelta(hours=lookback_hours)
    rows = select_pending_rows(limit, now - lookback)
    ages: dict[str, float] = {}
    for row in rows:  # the youngest row of a generation decides its patience
        age = (now - row.created_at).total_seconds()
        ages[row.generation_id] = min(age, ages.get(row.generation_id, age))
    resolution = Resolution()
    if ages:
        backoff = Backoff(max_total_seconds=max_wait_seconds)
        resolution = fetch_generations(ages, concurrency, backoff, base_url)
    written = write_charges_task(rows, resolution) if resolution.charges else 0
    missing = report_missing_task(now - lookback, lookback)
    for generation_id, why in sorted(resolution.invalid.items()):
        log.warning("generation %s: unusable /generation record: %s", generation_id, why)
    for generation_id, why in sorted(resolution.failed.items()):
        log.warning("generation %s: upstream failed, retried next run: %s", generation_id, why)
    if missing.newly_missing:
        log.warning("%d ledger row(s) past the %d h lookback have no charge (alert %s)",
                    missing.newly_missing, lookback_hours, missing.alert_id)
    summary = {
        "pending": len(rows), "generations": len(ages), **resolution.counts(),
        "written": written,
        # found, but a charge had arrived meanwhile (never overwritten)
        "already_charged": sum(r.generation_id in resolution.charges for r in rows) - written,
        "still_pending": sum(r.generation_id not in resolution.charges for r in rows),
        "missing_past_lookback": missing.total, "newly_missing": missing.newly_missing,
        "alert_id": missing.alert_id,
    }
    log.info("cost backfill: %s", summary)
    return summary


__all__ = ["backfill_costs"]
