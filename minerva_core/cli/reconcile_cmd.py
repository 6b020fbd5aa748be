"""`minerva reconcile --bill FILE [--bill FILE2] --from DATE --to DATE --out DIR [--tolerance USD]`

Imports each bill (idempotent: the same file twice is imported once), compares it with the
ledger over the UTC days [--from, --to] (both inclusive), writes the items as CSV and Parquet
and the HTML report into --out, stores the run (replacing an earlier run of the same period)
and prints a summary. The same steps as the `reconcile` flow, without Prefect.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from minerva_core.billing.store import import_bill_file
from minerva_core.cli._common import console, reported_errors, settings_or_exit
from minerva_core.db import get_engine
from minerva_core.reconciliation import Period, parse_tolerance
from minerva_core.reconciliation import pipeline as p
from minerva_core.reconciliation.report import CLASS_LABELS, class_rows, notes, summary_rows


def reconcile_command(
    bill: list[Path] = typer.Option(
        ..., "--bill", help="a bill file: OpenRouter CSV export, /activity JSON or provider invoice CSV (repeatable)",
        exists=True, dir_okay=False, readable=True,
    ),
    period_from: str = typer.Option(..., "--from", help="first UTC day, YYYY-MM-DD"),
    period_to: str = typer.Option(..., "--to", help="last UTC day, YYYY-MM-DD (inclusive)"),
    out: Path = typer.Option(..., "--out", help="directory for the CSV, Parquet and HTML reports"),
    tolerance: str = typer.Option("0.000001", "--tolerance", help="USD difference per item still counted as matched"),
) -> None:
    """Reconcile the usage ledger against bills and write the finance report."""
    settings = settings_or_exit()
    with reported_errors():
        period = Period.parse(period_from, period_to)
        tol = parse_tolerance(tolerance)
        engine = get_engine(settings)
        try:
            run_id, started_at = uuid.uuid4(), datetime.now(timezone.utc)
            imports = []
            for path in bill:
                imported = import_bill_file(engine, path)
                state = "imported" if imported.created else "already imported"
                console.print(escape(f"{path.name}: {state} ({imported.kind}, {imported.row_count} lines)"))
                imports.append(imported)
            outcome = p.compute(p.load_inputs(engine, period, [i.id for i in imports]), tol)
            context = p.context_for(run_id, period, imports)
            paths = p.write_reports(outcome, context, out, p.report_stem(period))
            replaced = p.save_run(engine, run_id=run_id, period=period, outcome=outcome, imports=imports,
                                  report_paths=paths, started_at=started_at)
        finally:
            engine.dispose()
    _print(outcome, period, paths, run_id, replaced)


def _print(outcome: p.Outcome, period: Period, paths: dict[str, str], run_id: uuid.UUID, replaced: int) -> None:
    summary = outcome.summary
    figures = Table(title=f"Reconciliation {period.label}", show_header=False)
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    for key, value in summary_rows(summary):
        figures.add_row(key, value)
    console.print(figures)
    classes = Table(title="Items per class")
    for column in ("class", "items", "bill USD", "ledger USD", "delta USD"):
        classes.add_column(column, justify="left" if column == "class" else "right")
    for row in class_rows(summary):
        style = None if row["class"] == "matched" or row["items"] == "0" else "bold red"
        classes.add_row(CLASS_LABELS[row["class"]], row["items"], row["bill_usd"], row["ledger_usd"],
                        row["delta_usd"], style=style)
    console.print(classes)
    for note in notes(summary):
        console.print(f"[yellow]note:[/] {escape(note)}")
    console.print(f"run {run_id}" + (f" (replaced {replaced} earlier run(s) of this period)" if replaced else ""))
    for kind, path in paths.items():
        console.print(escape(f"{kind}: {path}"))


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile_command)
