"""The reconcile flow: import the bills, compare them with the ledger, store and report.

    reconcile("2026-11-01", "2026-11-30", bill_files=["export.csv"], fetch_activity=False)

Days are UTC and inclusive. OpenRouter's /activity serves only the last 30 completed days,
so ``fetch_activity`` suits recent periods; older ones need a bill file. One task per I/O
step (bill import, /activity fetch, ledger load, report files, run storage, artifacts),
retried only on transient I/O failures (a 429/5xx or timeout upstream, a lost database
connection), never on a bad bill. The comparison itself is the pure
``minerva_core.reconciliation.pipeline.compute``. Scheduled daily for yesterday as
``reconcile_yesterday`` (deployments/prefect.yaml).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from sqlalchemy.exc import OperationalError

from flows import _gate, _runtime
from minerva_core.billing import activity_document, load_activity_rows
from minerva_core.billing.store import BillImport, import_bill_bytes, import_bill_file
from minerva_core.errors import UpstreamError
from minerva_core.providers import new_client
from minerva_core.providers.http import RetryPolicy, auth_headers, request_with_retries
from minerva_core.reconciliation import Period, parse_tolerance
from minerva_core.reconciliation import pipeline as p
from minerva_core.reconciliation.report import ReportContext, discrepancy_rows, markdown_summary, text_of


def retry_on_io(task, task_run, state) -> bool:
    """Retry only what may pass on its own: retryable upstream errors, lost DB connections."""
    try:
        state.result()
    except UpstreamError as exc:
        return exc.retryable
    except OperationalError:
        return True
    except Exception:
        return False
    return False


_IO = {"retries": 2, "retry_delay_seconds": [2, 10], "retry_condition_fn": retry_on_io, "cache_policy": NO_CACHE}


@task(name="import-bill-file", **_IO)
def import_file(path: str) -> BillImport:
    return import_bill_file(_runtime.engine(), path)


@task(name="fetch-activity", **_IO)
def fetch_activity_bill(period: Period) -> bytes:
    """GET /activity, body read with exact decimals, cut to the period, canonical bytes."""
    cfg = _runtime.settings()
    # No key at all means `minerva up` serves the built-in emulator, which takes any bearer.
    key = _runtime.openrouter_key(cfg) or ("minerva-emulator" if cfg.uses_emulator else None)

    async def _get() -> bytes:
        async with new_client() as client:
            url = f"{cfg.openrouter_base_url.rstrip('/')}/activity"
            response = await request_with_retries(
                lambda: client.get(url, headers=auth_headers(key)), policy=RetryPolicy(), provider="openrouter"
            )
            return response.content

    rows = load_activity_rows(asyncio.run(_get()))
    return activity_document(rows, day_from=period.day_from, day_to=period.day_to)


@task(name="import-activity", **_IO)
def import_activity(content: bytes, period: Period) -> BillImport:
    name = f"activity {period.day_from.isoformat()}..{period.day_to.isoformat()}"
    return import_bill_bytes(_runtime.engine(), content, file_name=name, kind="activity_api")


@task(name="load-ledger-and-bills", **_IO)
def load_inputs(period: Period, imports: list[BillImport]) -> p.Inputs:
    return p.load_inputs(_runtime.engine(), period, [i.id for i in imports])


@task(name="write-reports", **_IO)
def write_reports(outcome: p.Outcome, context: ReportContext, out_dir: str, stem: str) -> dict[str, str]:
    return p.write_reports(outcome, context, out_dir, stem)


@task(name="store-run", **_IO)
def store_run(run_id: uuid.UUID, period: Period, outcome: p.Outcome, imports: list[BillImport],
              paths: dict[str, str], started_at: datetime) -> int:
    return p.save_run(_runtime.engine(), run_id=run_id, period=period, outcome=outcome, imports=imports,
                      report_paths=paths, started_at=started_at, flow_run_id=flow_run.id)


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish(outcome: p.Outcome, context: ReportContext) -> None:
    rows = discrepancy_rows(outcome.result.items, 50)
    if rows:
        create_table_artifact(table=rows, key="reconciliation-discrepancies",
                              description=f"Top discrepancies, {context.period_label}")
    create_markdown_artifact(markdown=markdown_summary(outcome.summary, context, items=outcome.result.items),
                             key="reconciliation-summary", description=f"Reconciliation {context.period_label}")


@task(name="record-failed-run", **_IO)
def record_failure(run_id: uuid.UUID, period: Period, tolerance, error: str, started_at: datetime) -> None:
    p.save_failure(_runtime.engine(), run_id=run_id, period=period, tolerance=tolerance, error=error,
                   started_at=started_at, flow_run_id=flow_run.id)


@flow(name="reconcile", log_prints=False)
def reconcile(
    period_from: str,
    period_to: str,
    bill_files: list[str] | None = None,
    fetch_activity: bool = True,
    tolerance_usd: str = "0.000001",
    out_dir: str | None = None,
) -> dict:
    log = get_run_logger()
    period = Period.parse(period_from, period_to)
    skipped = _gate.skip_unless("provider")
    if skipped is not None:
        return skipped
    tolerance = parse_tolerance(tolerance_usd)
    run_id, started_at = uuid.uuid4(), datetime.now(timezone.utc)
    directory = out_dir or str(_runtime.settings().home / "reports" / "reconciliation")
    try:
        imports = [import_file(path) for path in bill_files or []]
        if fetch_activity:
            imports.append(import_activity(fetch_activity_bill(period), period))
        outcome = p.compute(load_inputs(period, imports), tolerance)
        context = p.context_for(run_id, period, imports)
        paths = write_reports(outcome, context, directory, p.report_stem(period))
        replaced = store_run(run_id, period, outcome, imports, paths, started_at)
        publish(outcome, context)
    except Exception as exc:
        try:
            record_failure(run_id, period, tolerance, f"{exc.__class__.__name__}: {exc}", started_at)
        except Exception as record_error:  # never hide the original failure behind this one
            log.error("could not record the failed run: %s", record_error)
        raise
    summary = outcome.summary
    log.info("reconcile %s: %s items, accuracy %s, counts %s", period.label, summary.item_count,
             summary.accuracy, summary.counts)
    return {
        "status": "succeeded", "run_id": str(run_id), "period_from": period.day_from.isoformat(),
        "period_to": period.day_to.isoformat(), "accuracy": text_of(summary.accuracy), "counts": summary.counts,
        "bill_total_usd": text_of(summary.bill_total_usd), "delta_usd": text_of(summary.delta_usd),
        "imports": [str(i.id) for i in imports], "replaced_runs": replaced, "reports": paths,
        "report_dir": str(Path(directory)),
    }


@flow(name="reconcile-yesterday", log_prints=False)
def reconcile_yesterday(tolerance_usd: str = "0.000001", out_dir: str | None = None) -> dict:
    """The scheduled run: yesterday (UTC) against OpenRouter's /activity."""
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    return reconcile(yesterday, yesterday, None, True, tolerance_usd, out_dir)
