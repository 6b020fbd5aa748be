"""Reconciliation report downloads: GET /admin/reports/{run_id}/{fmt}.

Only a file recorded in ``reconciliation_runs.report_paths`` for that run and format is
served: the request names a run (a UUID) and a format (csv, parquet or html), never a path.
The recorded path must be absolute and a regular file. Every report is sent as an
attachment with nosniff, so an HTML report never renders inside the admin pages' origin.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from minerva_core.errors import InvalidParameterError, ResourceNotFoundError
from proxy.admin import queries
from proxy.admin.auth import PageSession
from proxy.deps import EngineDep

router = APIRouter()
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "html": "text/html"}


def _file(engine, run_id: uuid.UUID, fmt: str) -> Path:
    with engine.connect() as conn:
        recorded = queries.report_path(conn, run_id, fmt)
    if not recorded:
        raise ResourceNotFoundError(f"run {run_id} has no {fmt} report", code="report_not_found")
    path = Path(recorded)
    if not path.is_absolute() or not path.is_file():
        raise ResourceNotFoundError(f"the {fmt} report of run {run_id} is no longer on disk", code="report_missing")
    return path


@router.get("/reports/{run_id}/{fmt}")
async def download_report(run_id: str, fmt: str, request: Request, session: PageSession,
                          engine: EngineDep) -> Response:
    if fmt not in MEDIA_TYPES:
        raise InvalidParameterError(f"format must be one of {', '.join(MEDIA_TYPES)}", param="fmt")
    try:
        parsed = uuid.UUID(run_id)
    except ValueError:
        raise InvalidParameterError("run_id must be a reconciliation run UUID", param="run_id") from None
    path = await run_in_threadpool(_file, engine, parsed, fmt)
    return FileResponse(
        path, media_type=MEDIA_TYPES[fmt], filename=f"reconciliation-{parsed}.{fmt}",
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                 "Content-Security-Policy": "default-src 'none'; sandbox"},
    )


__all__ = ["MEDIA_TYPES", "router"]
