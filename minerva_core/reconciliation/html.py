"""The finance report: one self-contained HTML file (inline CSS, no scripts, no fetches).

Every value that comes from data is escaped with html.escape; money is exact decimal text.
"""

from __future__ import annotations

from html import escape
from typing import Iterable, Sequence

import polars as pl

from minerva_core.reconciliation.report import (
    CLASS_LABELS,
    ReportContext,
    class_rows,
    discrepancy_rows,
    frame_rows,
    notes,
    summary_rows,
    text_of,
)
from minerva_core.reconciliation.summary import Summary

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.5rem;margin:0 0 .3rem} h2{font-size:1.15rem;margin:2rem 0 .6rem;border-bottom:1px solid #dde}
.meta{color:#5b6475} table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:13px}
th,td{border:1px solid #d8dbe3;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f2f4f8} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cards{display:flex;gap:1rem;flex-wrap:wrap} .card{border:1px solid #d8dbe3;border-radius:6px;padding:.7rem 1rem;min-width:11rem}
.card b{display:block;font-size:1.25rem} .ok{color:#18794e} .bad{color:#b42318}
.note{background:#fff8e6;border-left:3px solid #f5a524;padding:.4rem .7rem;margin:.4rem 0}
"""
_NUMERIC = {
    "items", "ledger_usd", "bill_usd", "delta_usd", "abs_delta_usd", "accuracy", "ledger_amount_usd",
    "bill_amount_usd", "estimated_usd", "implied_price", "estimated_price", "catalog_prompt_price",
    "catalog_completion_price", "matched", "amount_mismatch", "missing_in_ledger", "missing_in_bill",
    "price_drift", "duplicate", "bill_lines",
}


def _table(rows: Sequence[dict[str, str]], columns: Sequence[str], headers: Sequence[str] | None = None) -> str:
    if not rows:
        return "<p class='meta'>None.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in (headers or columns))
    body = []
    for row in rows:
        cells = "".join(
            f"<td class='num'>{escape(row.get(c, ''))}</td>" if c in _NUMERIC else f"<td>{escape(row.get(c, ''))}</td>"
            for c in columns
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _breakdown(title: str, table: pl.DataFrame, key: str) -> str:
    columns = [key, "items", "bill_usd", "ledger_usd", "delta_usd", "abs_delta_usd", "accuracy",
               "matched", "amount_mismatch", "missing_in_ledger", "missing_in_bill", "price_drift", "duplicate"]
    return f"<h2>{escape(title)}</h2>" + _table(frame_rows(table), columns)


def _cards(summary: Summary) -> str:
    state = "ok" if summary.discrepancies == 0 else "bad"
    cards = [
        ("Accuracy", text_of(summary.accuracy), state),
        ("Billed (USD)", text_of(summary.bill_total_usd), ""),
        ("Recorded charges (USD)", text_of(summary.ledger_total_usd), ""),
        ("Net delta (USD)", text_of(summary.delta_usd), state),
        ("Discrepancies", str(summary.discrepancies), state),
    ]
    return "<div class='cards'>" + "".join(
        f"<div class='card'>{escape(label)}<b class='{cls}'>{escape(value)}</b></div>" for label, value, cls in cards
    ) + "</div>"


def _paragraphs(texts: Iterable[str], css: str) -> str:
    return "".join(f"<p class='{css}'>{escape(t)}</p>" for t in texts)


def render_html(summary: Summary, items: pl.DataFrame, context: ReportContext, *, top: int = 50) -> str:
    imports = [{"bill": name, "kind": kind, "lines": str(lines)} for name, kind, lines in context.imports]
    classes = [{**row, "class": CLASS_LABELS.get(row["class"], row["class"])} for row in class_rows(summary)]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Reconciliation {escape(context.period_label)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Ledger vs bill reconciliation, {escape(context.period_label)}</h1>",
        f"<p class='meta'>Run {escape(context.run_id)} · generated {escape(context.generated_at.isoformat(timespec='seconds'))}"
        f" · tolerance {escape(text_of(summary.tolerance))} USD per item · all amounts USD, exact</p>",
        _cards(summary),
        "<h2>Summary</h2>",
        _table([{"figure": k, "value": v} for k, v in summary_rows(summary)], ["figure", "value"]),
        "<h2>Bills compared</h2>",
        _table(imports, ["bill", "kind", "lines"]),
        "<h2>Items per class</h2>",
        _table(classes, ["class", "items", "bill_usd", "ledger_usd", "delta_usd", "abs_delta_usd"]),
        _paragraphs(notes(summary), "note"),
        "<h2>Top discrepancies</h2>",
        _table(discrepancy_rows(items, top), [
            "classification", "day", "model", "provider_name", "generation_id", "api_key_id",
            "bill_amount_usd", "ledger_amount_usd", "delta_usd", "estimated_usd", "implied_price",
            "catalog_prompt_price", "catalog_completion_price", "duplicate_of",
        ]),
        _breakdown("Per day", summary.by_day, "day"),
        _breakdown("Per model", summary.by_model, "model"),
        _breakdown("Per provider", summary.by_provider, "provider_name"),
        _breakdown("Per API key (generation-level items)", summary.by_api_key, "api_key_id"),
        "<h2>How to read this</h2>",
        _paragraphs([
            "delta = bill - ledger (a missing side counts as 0): positive means billed more than recorded.",
            "Accuracy = 1 - sum(|delta|) / billed total, clamped to [0, 1], rounded down to 6 decimals.",
            "Price drift: the charge matches, but our own estimate from the catalog price differs; "
            "implied price = bill / tokens, shown beside the catalog price that was used.",
            "Duplicates: a generation recorded or billed more than once; the first occurrence is compared, "
            "each extra one is listed with its amount.",
        ], "meta"),
        "</body></html>",
    ]
    return "\n".join(parts)
