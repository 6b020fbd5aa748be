"""The pricing flow: prices only, more often than discovery (every 15 minutes). New models,
metadata changes and deprecations are left to the discover flow."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import _gate
from flows import catalog_tasks as t
from minerva_core.catalog import diff_catalog


@flow(name="pricing", log_prints=False)
def pricing(
    job_id: str | None = None,
    base_url: str | None = None,
    max_price_move_ratio: float = 10.0,
) -> dict:
    log = get_run_logger()
    skipped = _gate.skip_unless("provider")
    if skipped is not None:
        return t.skip_job(job_id, skipped)
    job = t.open_job("pricing", job_id, flow_run.id)
    progress = t.start_progress("pricing")
    try:
        batch = t.fetch_and_gate(base_url, max_price_move_ratio, log)
        if batch.rejected:
            return t.reject(job, batch, log)
        fetched, state, catalog = batch.fetched, batch.state, batch.catalog
        diff = t.pricing_only(diff_catalog(state.models, state.price_hashes, catalog))
        t.record_progress(job, progress, 0, catalog.models.height)
        counts = t.store_catalog(job, catalog, diff)
        t.record_progress(job, progress, catalog.models.height, catalog.models.height)
        t.complete_job(job, counts, fetched.snapshot_hash)
        t.publish_changes("pricing", catalog, diff, state, counts)
        log.info("pricing done: %s", counts)
        return {"status": "succeeded", "job_id": str(job.id), **counts}
    except Exception as exc:
        t.fail_job(job, f"{exc.__class__.__name__}: {exc}")
        raise
