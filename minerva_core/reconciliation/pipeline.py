"""The steps of a reconciliation run, shared by the Prefect flow (one task per I/O step) and
``minerva reconcile`` (the same steps in a row, no Prefect):

    imports = [import_bill_file(engine, path) for path in bills]     # billing.store
    inputs  = load_inputs(engine, period, [i.id for i in imports])   # DB read
    outcome = compute(inputs, tolerance)                             # pure
    paths   = write_reports(outcome, context, out_dir)               # files
    save_run(engine, run_id, period, outcome, imports, paths, ...)   # DB write, one transaction
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Mapping, Sequence

import polars as pl
from sqlalchemy import Engine

from minerva_core.billing.store import BillImport
from minerva_core.reconciliation import store
from minerva_core.reconciliation.frames import Period
from minerva_core.reconciliation.html import render_html
from minerva_core.reconciliation.reconcile import Reconciliation, reconcile
from minerva_core.reconciliation.report import ReportContext, write_items
from minerva_core.reconciliation.summary import Summary, summarise


@dataclass(frozen=True)
class Inputs:
    ledger: pl.DataFrame
    bills: pl.DataFrame
    models: pl.DataFrame
    prices: pl.DataFrame


@dataclass(frozen=True)
class Outcome:
    result: Reconciliation
    summary: Summary


def load_inputs(engine: Engine, period: Period, import_ids: Sequence[uuid.UUID]) -> Inputs:
    """Everything the comparison reads, from one consistent snapshot (REPEATABLE READ)."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        inputs = Inputs(
            ledger=store.load_ledger(conn, period),
            bills=store.load_bills(conn, period, import_ids),
            models=store.load_models(conn),
            prices=store.load_prices(conn, period),
        )
        conn.rollback()
    return inputs


def compute(inputs: Inputs, tolerance: str | Decimal) -> Outcome:
    result = reconcile(inputs.ledger, inputs.bills, tolerance=tolerance, models=inputs.models, prices=inputs.prices)
    return Outcome(result, summarise(result))


def report_stem(period: Period) -> str:
    return f"reconciliation_{period.day_from.isoformat()}_{period.day_to.isoformat()}"


def context_for(run_id: uuid.UUID, period: Period, imports: Sequence[BillImport]) -> ReportContext:
    return ReportContext(
        run_id=str(run_id),
        period_label=f"{period.day_from.isoformat()} to {period.day_to.isoformat()} (UTC, inclusive)",
        generated_at=datetime.now(timezone.utc),
        imports=tuple((i.file_name or i.kind, i.kind, i.row_count) for i in imports),
    )


def write_reports(outcome: Outcome, context: ReportContext, out_dir: str | Path, stem: str) -> dict[str, str]:
    """items CSV + Parquet and the HTML report; returns {"csv", "parquet", "html"} paths."""
    directory = Path(out_dir).expanduser().resolve()
    paths = write_items(outcome.result.items, directory, stem)
    html_path = directory / f"{stem}.html"
    html_path.write_text(render_html(outcome.summary, outcome.result.items, context), encoding="utf-8")
    paths["html"] = str(html_path)
    return paths


def save_run(
    engine: Engine, *, run_id: uuid.UUID, period: Period, outcome: Outcome, imports: Sequence[BillImport],
    report_paths: Mapping[str, str], started_at: datetime, flow_run_id: str | None = None,
) -> int:
    with engine.begin() as conn:
        return store.store_run(
            conn, run_id=run_id, period=period, summary=outcome.summary, items=outcome.result.items,
            import_ids=[i.id for i in imports], report_paths=report_paths, started_at=started_at,
            flow_run_id=flow_run_id,
        )


def save_failure(
    engine: Engine, *, run_id: uuid.UUID, period: Period, tolerance: Decimal, error: str,
    started_at: datetime, flow_run_id: str | None = None,
) -> None:
    with engine.begin() as conn:
        store.record_failed_run(
            conn, run_id=run_id, period=period, tolerance=tolerance, error=error,
            started_at=started_at, flow_run_id=flow_run_id,
        )
