"""Bodies of models/sync (POST and GET) and models/bulk-status."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from minerva_core.catalog_admin import BulkStatusResult, SyncJobStatus

ModelId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["discover", "pricing"]


class SyncAccepted(BaseModel):
    job_id: uuid.UUID
    kind: str
    status: str
    status_url: str


class Progress(BaseModel):
    done: int
    total: int | None
    percent: float | None = Field(description="0-100; null while the total is not known")


class SyncJobView(BaseModel):
    job_id: uuid.UUID
    kind: str
    status: Literal["queued", "running", "succeeded", "failed", "quarantined"]
    requested_by: str | None
    progress: Progress
    counts: dict[str, int]
    error: str | None
    quarantine_reason: str | None
    quarantine_id: int | None
    flow_run_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None = Field(description="finished - started; the time so far while running")

    @classmethod
    def of(cls, job: SyncJobStatus) -> SyncJobView:
        return cls(
            job_id=job.id, kind=job.kind, status=job.status, requested_by=job.requested_by,
            progress=Progress(done=job.progress_done, total=job.progress_total, percent=job.progress_percent),
            counts=job.counts, error=job.error, quarantine_reason=job.quarantine_reason,
            quarantine_id=job.quarantine_id, flow_run_id=job.flow_run_id, created_at=job.created_at,
            started_at=job.started_at, finished_at=job.finished_at, duration_ms=job.duration_ms,
        )


class BulkStatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_ids: list[ModelId] = Field(min_length=1, max_length=1000)
    status: Literal["active", "disabled"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None


class StatusChange(BaseModel):
    id: str
    previous_status: str
    status: str


class BulkStatusResponse(BaseModel):
    status: str
    requested: int
    changed_count: int
    unchanged_count: int
    changed: list[StatusChange]
    unchanged: list[str]
    kept_deprecated: list[str] = Field(
        description="re-enabled models that are deprecated upstream: they stay deprecated")
    note: str | None

    @classmethod
    def of(cls, result: BulkStatusResult) -> BulkStatusResponse:
        note = None
        if result.kept_deprecated:
            note = (f"{len(result.kept_deprecated)} model(s) are deprecated upstream and stay 'deprecated' "
                    "(no longer disabled by an admin); the next discover run re-activates any that are "
                    "listed again")
        return cls(
            status=result.status, requested=result.requested, changed_count=len(result.changed),
            unchanged_count=len(result.unchanged), changed=[StatusChange(**c) for c in result.changed],
            unchanged=result.unchanged, kept_deprecated=result.kept_deprecated, note=note,
        )
