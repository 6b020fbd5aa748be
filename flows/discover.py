"""The discover flow: the whole catalog from OpenRouter, gated, stored as a diff, and the
per-endpoint figures of active models. Scheduled hourly (deployments/prefect.yaml)."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import _gate
from flows import catalog_tasks as t
from minerva_core.catalog import diff_catalog


@flow(name="discover", log_prints=False)
def discover(
    job_id: str | None = None,
    base_url: str | None = None,
    endpoints: bool = True,
    endpoint_concurrency: int = 8,
    max_price_move_ratio: float = 10.0,
) -> dict:
    log = get_run_logger()
    skipped = _gate.skip_unless("provider")
    if skipped is not None:
        return t.skip_job(job_id, skipped)
    job = t.open_job("discover", job_id, flow_run.id)
    progress = t.start_progress("discover")
    try:
        batch = t.fetch_and_gate(base_url, max_price_move_ratio, log)
        if batch.rejected:
            return t.reject(job, batch, log)
        fetched, state, catalog = batch.fetched, batch.state, batch.catalog
        diff = diff_catalog(state.models, state.price_hashes, catalog)
        active = sorted(set(catalog.models["id"].to_list()) - _disabled(state)) if endpoints else []
        total = catalog.models.height + len(active)
        t.record_progress(job, progress, 0, total)
        counts = t.store_catalog(job, catalog, diff)
        t.record_progress(job, progress, catalog.models.height, total)
        if active:
            counts.update(t.sync_endpoints(job, active, endpoint_concurrency, base_url))
        t.record_progress(job, progress, total, total)
        t.complete_job(job, counts, fetched.snapshot_hash)
        t.publish_changes("discover", catalog, diff, state, counts)
        log.info("discover done: %s", counts)
        return {"status": "succeeded", "job_id": str(job.id), **counts}
    except Exception as exc:
        t.fail_job(job, f"{exc.__class__.__name__}: {exc}")
        raise


def _disabled(state) -> set[str]:
    frame = state.models
    if frame.height == 0:
        return set()
    return set(frame.filter(frame["status"] == "disabled")["id"].to_list())
