"""The refresh flow: every mv_* materialized view refreshed (concurrently where it can be),
each duration recorded; and the usage ledger's coming month partitions made. Every 5 minutes.

The views are the analytics area's (ENABLE_OPENROUTER_ANALYTICS): when it is off they are
skipped, with the reason logged. The partitions are made whatever the flags say: the
proxy's ledger needs them."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

from flows import _gate, _runtime
from minerva_core import views


@task(name="ensure-ledger-partitions", retries=2, retry_delay_seconds=5)
def ensure_partitions() -> None:
    with _runtime.engine().begin() as conn:
        views.ensure_ledger_partitions(conn)


@task(name="freeze-closed-days", retries=2, retry_delay_seconds=5)
def freeze_closed_days() -> int:
    with _runtime.engine().begin() as conn:
        return views.freeze_closed_days(conn)


@task(name="list-materialized-views")
def list_views() -> list[tuple[str, bool]]:
    with _runtime.engine().connect() as conn:
        return views.materialized_views(conn)


@task(name="refresh-view")
def refresh_one(name: str, populated: bool) -> views.RefreshOutcome:
    return views.refresh_view(_runtime.engine(), name, populated)


@task(name="record-refreshes")
def record(outcomes: list[views.RefreshOutcome], started_at: datetime, run_id: str | None) -> None:
    with _runtime.engine().begin() as conn:
        views.record_refreshes(conn, outcomes, started_at, run_id)


@flow(name="refresh")
def refresh() -> dict:
    log = get_run_logger()
    started_at = datetime.now(timezone.utc)
    ensure_partitions()
    skipped = _gate.skip_unless("analytics")
    if skipped is not None:
        return {**skipped, "partitions": "ensured"}
    frozen = freeze_closed_days()  # closed days into tables: the views then read recent rows only
    outcomes = [refresh_one(name, populated) for name, populated in list_views()]
    record(outcomes, started_at, flow_run.id)
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        log.error("refresh of %s failed: %s", outcome.view, outcome.error)
    summary = {o.view: o.duration_ms for o in outcomes}
    log.info("refreshed %d views: %s", len(outcomes), summary)
    if failed:
        raise RuntimeError(f"{len(failed)} materialized view(s) failed to refresh: {[o.view for o in failed]}")
    return {"refreshed": len(outcomes), "durations_ms": summary, "days_frozen": frozen}
