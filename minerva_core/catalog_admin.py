"""Admin actions on the catalog: queue and read sync jobs, switch models off and on.

Every function takes a Connection and works in the caller's transaction.

Sync jobs requested from the API are inserted ``queued``; the flow run that does the work
adopts the row (``catalog_store.create_job`` with its id) and moves it on. At most one job
of a kind may be queued or running at a time for API callers: the check and the insert are
serialised with a transaction-scoped advisory lock per kind.

``set_models_status`` is all or nothing: one unknown id and nothing is changed.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from minerva_core.errors import ConflictError, ResourceNotFoundError, UnknownModelsError
from minerva_core.catalog_store.jobs import reap_stale_jobs

log = logging.getLogger(__name__)

SYNC_KINDS = ("discover", "pricing")
OPEN_STATUSES = ("queued", "running")
FINAL_STATUSES = ("succeeded", "failed", "quarantined")
_COUNT_COLUMNS = ("new", "changed", "repriced", "deprecated", "unchanged", "quarantined", "total")
_LOCK_NAMESPACE = 0x6D696E  # "min": first key of pg_advisory_xact_lock(int, int) for sync jobs


@dataclass(frozen=True)
class SyncJobStatus:
    id: uuid.UUID
    kind: str
    status: str
    requested_by: str | None
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None  # elapsed so far while running
    progress_done: int
    progress_total: int | None
    counts: dict[str, int]
    error: str | None
    quarantine_reason: str | None
    quarantine_id: int | None
    flow_run_id: uuid.UUID | None

    @property
    def progress_percent(self) -> float | None:
        if self.progress_total is None:
            return 100.0 if self.status == "succeeded" else None
        if self.progress_total == 0:
            return 100.0 if self.status in FINAL_STATUSES else 0.0
        return round(100.0 * self.progress_done / self.progress_total, 1)


@dataclass(frozen=True)
class BulkStatusResult:
    status: str
    requested: int
    changed: list[dict[str, str]] = field(default_factory=list)  # id, previous_status, status
    unchanged: list[str] = field(default_factory=list)
    kept_deprecated: list[str] = field(default_factory=list)


def queue_sync_job(
    conn: Connection,
    kind: str,
    *,
    requested_by: str = "api",
    params: Mapping[str, Any] | None = None,
    stale_queued_minutes: int = 15,
) -> SyncJobStatus:
    """Insert a queued job of `kind`; ConflictError when one is already queued or running.
    A job still queued (never adopted by a flow run) after `stale_queued_minutes` is failed
    first, so a lost launch does not block its kind forever."""
    if kind not in SYNC_KINDS:
        raise ValueError(f"kind must be one of {SYNC_KINDS}")
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:kind))"), {"ns": _LOCK_NAMESPACE, "kind": kind}
    )
    # A job queued long ago that no flow ever adopted (its launcher died with the app) must
    # not block the kind forever.
    conn.execute(
        text(
            "UPDATE model_sync_jobs SET status = 'failed', started_at = clock_timestamp(), "
            "finished_at = clock_timestamp(), error = 'never started: no flow run adopted the job within '"
            " || :minutes || ' minutes' "
            "WHERE kind = :kind AND status = 'queued' AND started_at IS NULL "
            "AND created_at < clock_timestamp() - make_interval(mins => :minutes)"
        ),
        {"kind": kind, "minutes": stale_queued_minutes},
    )
    reap_stale_jobs(conn, kind)  # a run killed mid-way must not block the kind either
    open_job = conn.execute(
        text(
            "SELECT id, status FROM model_sync_jobs WHERE kind = :kind AND status IN ('queued', 'running') "
            "ORDER BY created_at LIMIT 1"
        ),
        {"kind": kind},
    ).one_or_none()
    if open_job is not None:
        raise ConflictError(
            f"a {kind} job is already {open_job.status} ({open_job.id}); "
            f"follow it with GET models/sync/{open_job.id}",
            code="sync_in_progress",
            param="kind",
            details={"job_id": str(open_job.id), "status": open_job.status},
        )
    job_id = conn.execute(
        text(
            "INSERT INTO model_sync_jobs (kind, status, requested_by, params) "
            "VALUES (:kind, 'queued', :by, CAST(:params AS jsonb)) RETURNING id"
        ),
        {"kind": kind, "by": requested_by, "params": json.dumps(dict(params or {}))},
    ).scalar_one()
    return get_sync_job(conn, job_id)


def get_sync_job(conn: Connection, job_id: uuid.UUID) -> SyncJobStatus:
    row = conn.execute(
        text(
            """
            SELECT j.*, coalesce(j.duration_ms, CASE WHEN j.started_at IS NOT NULL THEN
                       (extract(epoch FROM clock_timestamp() - j.started_at) * 1000)::bigint END)
                       AS elapsed_ms,
                   (SELECT q.id FROM catalog_quarantine q WHERE q.sync_job_id = j.id
                    ORDER BY q.id DESC LIMIT 1) AS quarantine_id
            FROM model_sync_jobs j WHERE j.id = :id
            """
        ),
        {"id": job_id},
    ).one_or_none()
    if row is None:
        raise ResourceNotFoundError(f"no sync job {job_id}", code="job_not_found", param="job_id")
    m = row._mapping
    return SyncJobStatus(
        id=m["id"], kind=m["kind"], status=m["status"], requested_by=m["requested_by"],
        params=dict(m["params"]), created_at=m["created_at"], started_at=m["started_at"],
        finished_at=m["finished_at"], duration_ms=m["elapsed_ms"], progress_done=m["progress_done"],
        progress_total=m["progress_total"], counts={c: m[f"{c}_count"] for c in _COUNT_COLUMNS},
        error=m["error"], quarantine_reason=m["quarantine_reason"], quarantine_id=m["quarantine_id"],
        flow_run_id=m["flow_run_id"],
    )


def fail_unfinished_job(conn: Connection, job_id: uuid.UUID, error: str) -> bool:
    """Mark the job failed unless it already finished; True when this call failed it."""
    result = conn.execute(
        text(
            "UPDATE model_sync_jobs SET status = 'failed', error = :error, "
            "started_at = coalesce(started_at, clock_timestamp()), finished_at = clock_timestamp() "
            "WHERE id = :id AND status IN ('queued', 'running')"
        ),
        {"id": job_id, "error": error[:2000]},
    )
    return result.rowcount == 1


def set_models_status(
    conn: Connection, model_ids: Iterable[str], status: str, *, reason: str | None = None
) -> BulkStatusResult:
    """Disable (status 'disabled', by an admin) or re-enable (status 'active') models.

    A re-enabled model that is deprecated upstream (deprecated_at set) goes back to
    'deprecated', not 'active'; the next discover run re-activates it if it is listed again.
    """
    if status not in ("active", "disabled"):
        raise ValueError("status must be 'active' or 'disabled'")
    ids = sorted(set(model_ids))
    rows = conn.execute(
        text(
            "SELECT id, status, disabled_by_admin, disabled_reason, deprecated_at FROM ai_models "
            "WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"
        ),
        {"ids": ids},
    ).all()
    missing = set(ids) - {r.id for r in rows}
    if missing:
        raise UnknownModelsError(missing)
    if status == "disabled":
        todo = [r for r in rows if not (r.status == "disabled" and r.disabled_by_admin
                                        and (reason is None or r.disabled_reason == reason))]
        if todo:  # an empty UPDATE would still fire the statement trigger (NOTIFY)
            conn.execute(
                text(
                    "UPDATE ai_models SET status = 'disabled', disabled_by_admin = true, "
                    "disabled_at = CASE WHEN status = 'disabled' AND disabled_by_admin "
                    "THEN disabled_at ELSE clock_timestamp() END, "
                    "disabled_reason = coalesce(:reason, CASE WHEN disabled_by_admin THEN disabled_reason END) "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": [r.id for r in todo], "reason": reason},
            )
        after = {r.id: "disabled" for r in todo}
    else:
        todo = [r for r in rows if r.status == "disabled" or r.disabled_by_admin]
        after = {} if not todo else dict(
            conn.execute(
                text(
                    "UPDATE ai_models SET status = CASE WHEN deprecated_at IS NOT NULL "
                    "THEN 'deprecated' ELSE 'active' END, disabled_by_admin = false, "
                    "disabled_at = NULL, disabled_reason = NULL WHERE id = ANY(:ids) RETURNING id, status"
                ),
                {"ids": [r.id for r in todo]},
            ).all()
        )
    before = {r.id: r.status for r in rows}
    final = {r.id: after.get(r.id, r.status) for r in rows}
    log.info("admin set %d of %d model(s) to %s (reason: %s)", len(todo), len(ids), status, reason)
    return BulkStatusResult(
        status=status,
        requested=len(ids),
        changed=[{"id": i, "previous_status": before[i], "status": after[i]} for i in sorted(after)],
        unchanged=[i for i in ids if i not in after],
        kept_deprecated=[i for i in ids if status == "active" and final[i] == "deprecated"],
    )


__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "SYNC_KINDS",
    "BulkStatusResult",
    "SyncJobStatus",
    "fail_unfinished_job",
    "get_sync_job",
    "queue_sync_job",
    "set_models_status",
]
