"""The files and texts a reconciliation produces: items as CSV and Parquet, the summary and
top discrepancies as markdown and table rows (Prefect artifacts, the CLI), the HTML report.

Money is always written as exact decimal text ("0.000123", "-0.01", never "1.23e-4" nor a
float); the Parquet file keeps it typed as decimal(38, 24).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import polars as pl

from minerva_core.reconciliation.classify import PRECEDENCE
from minerva_core.reconciliation.frames import MONEY, decimal_text, money_text_expr, trim_decimal
from minerva_core.reconciliation.summary import Summary, top_discrepancies

CLASS_LABELS = {
    "matched": "Matched",
    "amount_mismatch": "Amount mismatch",
    "missing_in_ledger": "Missing in ledger (billed, not recorded)",
    "missing_in_bill": "Missing in bill (recorded, not billed)",
    "price_drift": "Price drift (our estimate off, charge right)",
    "duplicate": "Duplicate",
}


@dataclass(frozen=True)
class ReportContext:
    run_id: str
    period_label: str
    generated_at: datetime
    #: (file name or "activity API", kind, lines) per bill import used.
    imports: Sequence[tuple[str, str, int]] = field(default_factory=tuple)


def text_of(value: Any) -> str:
    """Display text of a cell: exact decimals, ISO dates, "" for null."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(trim_decimal(value))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def items_for_text(items: pl.DataFrame) -> pl.DataFrame:
    """The items with every money column as exact text (for CSV and display)."""
    money = [name for name, dtype in items.schema.items() if dtype == MONEY]
    return items.with_columns([money_text_expr(name) for name in money])


def write_items(items: pl.DataFrame, out_dir: Path, stem: str) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{stem}.csv"
    parquet_path = out_dir / f"{stem}.parquet"
    items_for_text(items).write_csv(csv_path)
    items.write_parquet(parquet_path)
    return {"csv": str(csv_path), "parquet": str(parquet_path)}


def summary_rows(summary: Summary) -> list[tuple[str, str]]:
    return [
        ("Ledger rows", str(summary.ledger_rows)),
        ("Bill lines", str(summary.bill_lines)),
        ("Items", str(summary.item_count)),
        ("Billed total (USD)", text_of(summary.bill_total_usd)),
        ("Ledger charges recorded (USD)", text_of(summary.ledger_total_usd)),
        ("Ledger estimated (USD)", text_of(summary.ledger_estimated_usd)),
        ("Ledger amount compared (USD)", text_of(summary.ledger_compared_usd)),
        ("Matched billed (USD)", text_of(summary.matched_total_usd)),
        ("Net delta, bill - ledger (USD)", text_of(summary.delta_usd)),
        ("Sum of |delta| (USD)", text_of(summary.abs_delta_usd)),
        ("Price drift, sum |bill - estimate| (USD)", text_of(summary.price_drift_usd)),
        ("Accuracy", text_of(summary.accuracy)),
        ("Tolerance per item (USD)", text_of(summary.tolerance)),
        ("Superseded aggregate lines", f"{summary.superseded_lines} ({text_of(summary.superseded_usd)} USD)"),
    ]


def class_rows(summary: Summary) -> list[dict[str, str]]:
    rows = []
    for cls in PRECEDENCE:
        amounts = summary.amounts[cls]
        rows.append({
            "class": cls, "items": str(summary.counts[cls]),
            "ledger_usd": text_of(amounts["ledger_usd"]), "bill_usd": text_of(amounts["bill_usd"]),
            "delta_usd": text_of(amounts["delta_usd"]), "abs_delta_usd": text_of(amounts["abs_delta_usd"]),
        })
    return rows


TOP_COLUMNS = (
    "classification", "level", "day", "model", "provider_name", "generation_id", "api_key_id",
    "ledger_request_id", "ledger_amount_usd", "bill_amount_usd", "delta_usd", "estimated_usd",
    "implied_price", "estimated_price", "catalog_prompt_price", "catalog_completion_price", "duplicate_of",
)


def discrepancy_rows(items: pl.DataFrame, limit: int = 25) -> list[dict[str, str]]:
    top = top_discrepancies(items, limit)
    return [{k: text_of(row[k]) for k in TOP_COLUMNS} for row in top.iter_rows(named=True)]


def frame_rows(table: pl.DataFrame) -> list[dict[str, str]]:
    return [{k: text_of(v) for k, v in row.items()} for row in table.iter_rows(named=True)]


def notes(summary: Summary) -> list[str]:
    out = []
    if summary.superseded_lines:
        out.append(
            f"{summary.superseded_lines} aggregate bill line(s) ({text_of(summary.superseded_usd)} USD) were set "
            "aside: a per-generation bill covers their days, and each charge is compared once."
        )
    for row in summary.mappings.filter(pl.col("mapping").is_in(["ambiguous", "unmapped"])).iter_rows(named=True):
        if row["mapping"] == "ambiguous":
            out.append(
                f"Model mapping ambiguous: billed {row['name']!r} (variant {row['variant'] or '-'}) matches "
                f"{row['candidates']}; {row['model_id']!r} was used for {row['bill_lines']} line(s)."
            )
        else:
            out.append(f"Model {row['name']!r} is not in the catalog; compared under that name ({row['bill_lines']} line(s)).")
    return out


def markdown_summary(summary: Summary, context: ReportContext, *, top: int = 10, items: pl.DataFrame | None = None) -> str:
    lines = [f"## Reconciliation {context.period_label}", "", f"Run `{context.run_id}`", "",
             "| figure | value |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in summary_rows(summary)]
    lines += ["", "| class | items | ledger USD | bill USD | delta USD |", "|---|---|---|---|---|"]
    lines += [f"| {r['class']} | {r['items']} | {r['ledger_usd']} | {r['bill_usd']} | {r['delta_usd']} |"
              for r in class_rows(summary)]
    for note in notes(summary):
        lines += ["", f"> {_md(note)}"]
    if items is not None and summary.discrepancies:
        lines += ["", "### Top discrepancies", "", "| class | day | model | generation | delta USD |", "|---|---|---|---|---|"]
        lines += [f"| {r['classification']} | {r['day']} | {_md(r['model'])} | {_md(r['generation_id'])} | {r['delta_usd']} |"
                  for r in discrepancy_rows(items, top)]
    return "\n".join(lines) + "\n"


def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
