"""A batch that failed the data-quality gate: kept for inspection, alerted, never applied."""

from __future__ import annotations

import json
from typing import Any, Sequence

from sqlalchemy import Connection, text

from minerva_core.alerts_system import raise_system_alert
from minerva_core.catalog_store.jobs import SyncJob


def quarantine_batch(
    conn: Connection,
    job: SyncJob,
    *,
    failures: Sequence[dict[str, Any]],
    records: Sequence[dict[str, Any]],
    snapshot_hash: str | None,
) -> int:
    """Store the failing batch and raise an alert; return the quarantine row id."""
    quarantine_id = conn.execute(
        text(
            "INSERT INTO catalog_quarantine (sync_job_id, snapshot_hash, failed_expectations, batch, row_count) "
            "VALUES (:job, :hash, CAST(:failures AS jsonb), CAST(:batch AS jsonb), :rows) RETURNING id"
        ),
        {
            "job": job.id,
            "hash": snapshot_hash,
            "failures": json.dumps(list(failures), default=str),
            "batch": json.dumps(list(records), default=str),
            "rows": len(records),
        },
    ).scalar_one()
    summary = "; ".join(sorted({f.get("summary", f.get("expectation", "?")) for f in failures}))[:500]
    raise_system_alert(
        conn,
        kind="catalog.quarantined",
        severity="critical",
        message=f"{job.kind} batch quarantined by the data-quality gate: {summary}",
        fingerprint=f"catalog.quarantined:{snapshot_hash}",
        payload={"sync_job_id": str(job.id), "quarantine_id": quarantine_id, "failures": list(failures)[:20]},
    )
    return quarantine_id
