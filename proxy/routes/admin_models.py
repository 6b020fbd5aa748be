"""Admin: browse the catalog, start and follow catalog syncs, switch models off and on.

GET  models/discover           search / filter / sort / page the catalog with current prices
POST models/sync               queue a discover or pricing job and start its flow: 202
                               (503 feature_disabled when ENABLE_OPENROUTER_PROVIDER is off)
GET  models/sync/{job_id}      the job's status, progress and counts
POST models/bulk-status        disable or re-enable models, all or nothing
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from minerva_core.catalog_admin import (
    fail_unfinished_job,
    get_sync_job,
    queue_sync_job,
    set_models_status,
)
from minerva_core.catalog_queries import MAX_LIMIT, search_models
from minerva_core.errors import FlowLaunchError, InvalidParameterError
from minerva_core.provider_config import read_provider
from proxy.deps import ConnDep, EngineDep, LauncherDep, require_admin
from proxy.jobs import FlowRequest
from proxy.routes.flags import require_flag
from proxy.schemas.models import (
    ModelPage,
    build_filter,
    build_page,
    model_view,
    refuse_unknown,
)
from proxy.schemas.sync import (
    BulkStatusRequest,
    BulkStatusResponse,
    SyncAccepted,
    SyncJobView,
    SyncRequest,
)

router = APIRouter(prefix="/models", tags=["admin: models"], dependencies=[Depends(require_admin)])

Values = Annotated[list[str] | None, Query()]


@router.get("/discover", response_model=ModelPage)
def discover(
    request: Request,
    conn: ConnDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    provider: Values = None,
    family: Values = None,
    modality: Values = None,
    capability: Values = None,
    min_context: Annotated[int | None, Query(ge=1)] = None,
    max_prompt_price: Annotated[str | None, Query(max_length=40)] = None,
    max_completion_price: Annotated[str | None, Query(max_length=40)] = None,
    status: Values = None,
    free_only: bool = False,
    sort: str = "id",
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> ModelPage:
    refuse_unknown(request.query_params.keys())
    model_filter = build_filter(
        q=q, provider=provider or [], family=family or [], modality=modality or [],
        capability=capability or [], min_context=min_context, max_prompt_price=max_prompt_price,
        max_completion_price=max_completion_price, status=status or [], free_only=free_only,
    )
    page = build_page(sort=sort, order=order, limit=limit, offset=offset, cursor=cursor)
    result = search_models(conn, model_filter, page)
    return ModelPage(
        data=[model_view(row) for row in result.rows], total=result.total, limit=limit, offset=offset,
        sort=sort, order=order, next_cursor=result.next_cursor, next_offset=result.next_offset,
    )


@router.post("/sync", status_code=202, response_model=SyncAccepted,
             dependencies=[Depends(require_flag("provider"))])
async def start_sync(body: SyncRequest, request: Request, engine: EngineDep, launcher: LauncherDep) -> SyncAccepted:
    job, base_url = await run_in_threadpool(_queue, engine, body.kind, launcher.name)
    try:
        await launcher.launch(FlowRequest(body.kind, job.id, base_url), partial(_fail, engine, job.id))
    except FlowLaunchError as exc:
        await run_in_threadpool(_fail, engine, job.id, str(exc))
        raise FlowLaunchError(f"{exc}; job {job.id} is marked failed") from None
    return SyncAccepted(
        job_id=job.id, kind=job.kind, status=job.status,
        status_url=str(request.url_for("get_sync_job", job_id=str(job.id))),
    )


@router.get("/sync/{job_id}", response_model=SyncJobView, name="get_sync_job")
def sync_status(job_id: str, conn: ConnDep) -> SyncJobView:
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        raise InvalidParameterError(
            "job_id must be a job UUID such as 0b8e3f5c-6a51-4c8e-9d1f-3f6f2f0f5a10", param="job_id"
        ) from None
    return SyncJobView.of(get_sync_job(conn, parsed))


@router.post("/bulk-status", response_model=BulkStatusResponse)
def bulk_status(body: BulkStatusRequest, engine: EngineDep) -> BulkStatusResponse:
    with engine.begin() as conn:  # one transaction: an unknown id rolls everything back
        result = set_models_status(conn, body.model_ids, body.status, reason=body.reason)
    return BulkStatusResponse.of(result)


def _queue(engine: Engine, kind: str, launcher_name: str):
    with engine.begin() as conn:
        config = read_provider(conn, "openrouter")
        base_url = config.base_url if config else None
        job = queue_sync_job(conn, kind, requested_by="api", params={"launcher": launcher_name, "base_url": base_url})
    return job, base_url


def _fail(engine: Engine, job_id: uuid.UUID, message: str) -> None:
    with engine.begin() as conn:
        fail_unfinished_job(conn, job_id, message)
