"""model_sync_jobs: one row per discovery / pricing run, with progress and counts.

A run killed mid-way (SIGKILL, a lost worker) never finishes its row; the next run of the
same kind marks such rows ``failed`` once they have been running longer than
``STALE_AFTER`` (a sync takes seconds), so the API and the model browser never show a
progress bar stuck forever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping

from sqlalchemy import Connection, text


STALE_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class SyncJob:
    id: uuid.UUID
    kind: str


def create_job(
    conn: Connection,
    kind: str,
    *,
    flow_run_id: uuid.UUID | str | None = None,
    requested_by: str | None = None,
    job_id: uuid.UUID | None = None,
) -> SyncJob:
    """Open a job in `running` state (or adopt a queued one created by the API)."""
    job_id = job_id or uuid.uuid4()
    conn.execute(
        text(
            "INSERT INTO model_sync_jobs (id, kind, status, requested_by, started_at, flow_run_id) "
            "VALUES (:id, :kind, 'running', :by, now(), :flow_run_id) "
            "ON CONFLICT (id) DO UPDATE SET status = 'running', started_at = now(), "
            "flow_run_id = EXCLUDED.flow_run_id"
        ),
        {"id": job_id, "kind": kind, "by": requested_by, "flow_run_id": flow_run_id},
    )
    reap_stale_jobs(conn, kind, keep=job_id)
    return SyncJob(job_id, kind)


def reap_stale_jobs(
    conn: Connection, kind: str, *, keep: uuid.UUID | None = None, stale_after: timedelta = STALE_AFTER
) -> int:
    """Mark `running` jobs of `kind` started more than `stale_after` ago as failed; the count."""
    result = conn.execute(
        text(
            "UPDATE model_sync_jobs SET status = 'failed', finished_at = clock_timestamp(), "
            "error = :error "
            "WHERE kind = :kind AND status = 'running' AND started_at < now() - :stale "
            "AND id IS DISTINCT FROM :keep"
        ),
        {"kind": kind, "keep": keep, "stale": stale_after,
         "error": f"abandoned: the run stopped without finishing (running for over {stale_after})"},
    )
    return result.rowcount


def update_progress(conn: Connection, job: SyncJob, done: int, total: int | None) -> None:
    conn.execute(
        text("UPDATE model_sync_jobs SET progress_done = :done, progress_total = :total WHERE id = :id"),
        {"id": job.id, "done": done, "total": total},
    )


def finish_job(
    conn: Connection,
    job: SyncJob,
    status: str,
    *,
    counts: Mapping[str, int] | None = None,
    error: str | None = None,
    quarantine_reason: str | None = None,
    snapshot_hash: str | None = None,
) -> None:
    counts = dict(counts or {})
    conn.execute(
        text(
            """
            UPDATE model_sync_jobs SET
                status = :status, finished_at = clock_timestamp(),
                new_count = :new, changed_count = :changed, repriced_count = :repriced,
                deprecated_count = :deprecated, unchanged_count = :unchanged,
                quarantined_count = :quarantined, total_count = :total,
                error = :error, quarantine_reason = :reason,
                snapshot_hash = coalesce(:snapshot_hash, snapshot_hash),
                progress_done = coalesce(progress_total, progress_done)
            WHERE id = :id
            """
        ),
        {
            "id": job.id,
            "status": status,
            "new": counts.get("new", 0),
            "changed": counts.get("changed", 0),
            "repriced": counts.get("repriced", 0),
            "deprecated": counts.get("deprecated", 0),
            "unchanged": counts.get("unchanged", 0),
            "quarantined": counts.get("quarantined", 0),
            "total": counts.get("total", 0),
            "error": error,
            "reason": quarantine_reason,
            "snapshot_hash": snapshot_hash,
        },
    )
