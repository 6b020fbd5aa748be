"""Tasks of the discover and pricing flows: one per external step, retried only on I/O
failures that deserve it (429, 5xx, timeouts), never on bad data."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact, update_progress_artifact

from flows import _runtime
from minerva_core.catalog import CatalogDiff, NormalisedCatalog, diff_catalog, normalise_catalog
from minerva_core.catalog_admin import fail_unfinished_job
from minerva_core.catalog_store import (
    SyncJob,
    apply_catalog,
    create_job,
    finish_job,
    load_live_state,
    quarantine_batch,
    update_progress,
    write_endpoints,
)
from minerva_core.catalog_store.state import LiveCatalogState
from minerva_core.errors import CatalogError, UpstreamError
from minerva_core.quality import GateConfig, GateResult, check_catalog, structural_failure


def retry_on_transient(task, task_run, state) -> bool:
    """Retry condition: only upstream failures marked retryable (429, 5xx, timeouts)."""
    try:
        state.result()
    except UpstreamError as exc:
        return exc.retryable
    except Exception:
        return False
    return False


@dataclass(frozen=True)
class FetchedCatalog:
    records: list[dict[str, Any]]
    snapshot_hash: str


@task(name="fetch-models", retries=3, retry_delay_seconds=[1, 5, 15], retry_condition_fn=retry_on_transient)
def fetch_models(base_url: str | None = None) -> FetchedCatalog:
    cfg = _runtime.settings()

    async def _fetch() -> list[dict[str, Any]]:
        async with _runtime.openrouter(cfg, base_url) as provider:
            return await provider.discover_models("all")

    records = asyncio.run(_fetch())
    digest = hashlib.sha256(orjson.dumps(records, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return FetchedCatalog(records, digest)


@task(name="close-skipped-sync-job")
def close_skipped_job(job_id: str, reason: str) -> bool:
    with _runtime.engine().begin() as conn:
        return fail_unfinished_job(conn, uuid.UUID(job_id), f"skipped: {reason}")


def skip_job(job_id: str | None, skipped: dict) -> dict:
    """A skipped run writes nothing, except to end the queued job it was started for."""
    if job_id:
        close_skipped_job(job_id, skipped["reason"])
        return {**skipped, "job_id": job_id}
    return skipped


@task(name="open-sync-job")
def open_job(kind: str, job_id: str | None, flow_run_id: str | None) -> SyncJob:
    with _runtime.engine().begin() as conn:
        return create_job(
            conn, kind, flow_run_id=flow_run_id, job_id=uuid.UUID(job_id) if job_id else None
        )


@task(name="load-live-catalog")
def load_state() -> LiveCatalogState:
    with _runtime.engine().connect() as conn:
        return load_live_state(conn)


def normalise_and_gate(
    fetched: FetchedCatalog, state: LiveCatalogState, config: GateConfig
) -> tuple[NormalisedCatalog | None, GateResult]:
    """Pure: normalise, then run the gate; a structural error is a failed gate."""
    try:
        catalog = normalise_catalog(fetched.records)
    except CatalogError as exc:
        return None, structural_failure(exc)
    return catalog, check_catalog(catalog, state.current_prices, config)


@dataclass(frozen=True)
class GatedBatch:
    fetched: FetchedCatalog
    state: LiveCatalogState
    catalog: NormalisedCatalog | None
    gate: GateResult

    @property
    def rejected(self) -> bool:
        return not self.gate.passed or self.catalog is None


def fetch_and_gate(base_url: str | None, max_price_move_ratio: float, log: Any) -> GatedBatch:
    """The shared first half of discover and pricing: fetch, read the live state, gate."""
    fetched = fetch_models(base_url)
    state = load_state()
    catalog, gate = normalise_and_gate(fetched, state, GateConfig(max_price_move_ratio=max_price_move_ratio))
    if gate.passed and gate.flagged:
        log.warning("price moves flagged for review: %s", [f["summary"] for f in gate.flagged])
    return GatedBatch(fetched, state, catalog, gate)


def reject(job: SyncJob, batch: GatedBatch, log: Any) -> dict:
    """Quarantine a batch that failed the gate; the flow's answer."""
    quarantine(job, batch.fetched, batch.gate)
    log.error("batch quarantined: %s", batch.gate.summary)
    return {"status": "quarantined", "reason": batch.gate.summary, "job_id": str(job.id)}


def pricing_only(diff: CatalogDiff) -> CatalogDiff:
    """The pricing flow applies price changes of known models only; discover does the rest."""
    return CatalogDiff(
        new=frozenset(), changed=frozenset(), repriced=diff.repriced - diff.new,
        deprecated=frozenset(), reactivated=frozenset(),
        unchanged=diff.unchanged | diff.changed | diff.reactivated,
    )


@task(name="store-catalog")
def store_catalog(job: SyncJob, catalog: NormalisedCatalog, diff: CatalogDiff) -> dict[str, int]:
    with _runtime.engine().begin() as conn:
        return apply_catalog(conn, catalog, diff, job_id=job.id)


@task(name="complete-sync-job")
def complete_job(job: SyncJob, counts: dict[str, int], snapshot_hash: str) -> None:
    """The job succeeds only once every step (catalog and endpoint figures) is done."""
    with _runtime.engine().begin() as conn:
        finish_job(conn, job, "succeeded", counts=counts, snapshot_hash=snapshot_hash)


@task(name="quarantine-batch")
def quarantine(job: SyncJob, fetched: FetchedCatalog, gate: GateResult) -> int:
    with _runtime.engine().begin() as conn:
        qid = quarantine_batch(
            conn, job, failures=gate.failures, records=fetched.records, snapshot_hash=fetched.snapshot_hash
        )
        finish_job(
            conn, job, "quarantined",
            counts={"quarantined": len(fetched.records), "total": len(fetched.records)},
            quarantine_reason=gate.summary[:2000], snapshot_hash=fetched.snapshot_hash,
        )
    return qid


@task(name="fail-sync-job")
def fail_job(job: SyncJob, error: str) -> None:
    with _runtime.engine().begin() as conn:
        finish_job(conn, job, "failed", error=error[:2000])


@task(name="record-progress")
def record_progress(job: SyncJob, artifact_id: Any, done: int, total: int) -> None:
    with _runtime.engine().begin() as conn:
        update_progress(conn, job, done, total)
    if artifact_id is not None:
        update_progress_artifact(artifact_id, progress=100.0 * done / max(total, 1))


@task(name="fetch-and-store-endpoints", retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_on_transient)
def sync_endpoints(job: SyncJob, model_ids: list[str], concurrency: int, base_url: str | None = None) -> dict[str, int]:
    """GET /models/{id}/endpoints for each model, at most `concurrency` at once; store each."""
    cfg = _runtime.settings()
    engine = _runtime.engine(cfg)

    async def _all() -> dict[str, int]:
        gate = asyncio.Semaphore(concurrency)
        written = failed = 0
        async with _runtime.openrouter(cfg, base_url) as provider:

            async def one(model_id: str) -> tuple[str, list[dict[str, Any]] | None]:
                async with gate:
                    try:
                        data = await provider.model_endpoints(model_id)
                    except UpstreamError:
                        return model_id, None
                    return model_id, list(data.get("endpoints") or [])

            for next_done in asyncio.as_completed([one(m) for m in model_ids]):
                model_id, endpoints = await next_done
                if endpoints is None:
                    failed += 1
                    continue
                with engine.begin() as conn:
                    written += write_endpoints(conn, model_id, endpoints, job_id=job.id)
        return {"endpoints_written": written, "endpoint_models_failed": failed}

    return asyncio.run(_all())


def start_progress(kind: str) -> Any:
    return create_progress_artifact(progress=0.0, description=f"{kind}: catalog sync progress")


def publish_changes(kind: str, catalog: NormalisedCatalog, diff: CatalogDiff, state: LiveCatalogState, counts: dict[str, int]) -> None:
    """A table artifact of what changed and a markdown summary, for the Prefect UI."""
    new_prices = {
        row["id"]: row for row in catalog.prices.filter(
            catalog.prices["id"].is_in(list(diff.repriced | diff.new))
        ).iter_rows(named=True)
    }
    rows = []
    for change, ids in (("new", diff.new), ("repriced", diff.repriced - diff.new),
                        ("changed", diff.changed), ("deprecated", diff.deprecated),
                        ("reactivated", diff.reactivated)):
        for model_id in sorted(ids)[:500]:
            old = state.current_prices.get(model_id, {})
            new = new_prices.get(model_id, {})
            rows.append({
                "model": model_id, "change": change,
                "prompt_before": str(old.get("prompt")) if old.get("prompt") is not None else "",
                "prompt_after": str(new.get("prompt")) if new.get("prompt") is not None else "",
                "completion_before": str(old.get("completion")) if old.get("completion") is not None else "",
                "completion_after": str(new.get("completion")) if new.get("completion") is not None else "",
            })
    if rows:
        create_table_artifact(table=rows, key=f"{kind}-changes", description=f"{kind}: what changed in the catalog")
    summary = " · ".join(f"{k}: {v}" for k, v in counts.items())
    create_markdown_artifact(markdown=f"## Catalog {kind}\n\n{summary}\n", key=f"{kind}-summary")
