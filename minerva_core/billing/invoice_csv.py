"""A generic provider invoice as CSV: date, provider, model (or sku), quantity, amount.

Header names are matched case-insensitively (spaces and dashes read as underscores).
Required: ``date``, ``provider``, ``amount`` and one of ``model`` / ``sku`` (``model`` wins
when both are there). Optional: ``quantity`` (a decimal, kept in raw), ``currency`` (must be
USD when present); any other column is kept in raw. Lines for the same day, provider and
model are legitimate separate charges: they are summed at reconciliation, never flagged as
duplicates.
"""

from __future__ import annotations

from minerva_core.billing import fields as f
from minerva_core.billing.csv_reader import CsvRows
from minerva_core.billing.lines import PROVIDER_INVOICE, BillLine, ParsedBill, sha256_hex
from minerva_core.errors import BillFormatError

REQUIRED_COLUMNS = ("date", "provider", "amount")


def parse_invoice_csv(content: bytes, *, file_name: str | None = None) -> ParsedBill:
    table = CsvRows(content, normalise=True)
    table.require(REQUIRED_COLUMNS)
    model_column = "model" if "model" in table.header else "sku" if "sku" in table.header else None
    if model_column is None:
        raise BillFormatError(1, "model", "required column missing from the header: model (or sku)")
    lines = []
    for line, number, row in table.rows():
        currency = row.get("currency", "").strip().upper()
        if currency and currency != "USD":
            raise BillFormatError(line, "currency", f"{row['currency']!r}: only USD bills are reconciled")
        if row.get("quantity", "").strip():
            f.money(row["quantity"], line, "quantity")
        lines.append(
            BillLine(
                line_no=number,
                bill_date=f.day(row["date"], line, "date"),
                amount_usd=f.money(row["amount"], line, "amount"),
                model=f.text(row[model_column], line, model_column, required=True),
                provider_name=f.text(row["provider"], line, "provider", required=True),
                raw={**row, "_file_line": line},
            )
        )
    providers = sorted({line.provider_name for line in lines if line.provider_name})
    return ParsedBill(
        kind=PROVIDER_INVOICE,
        lines=tuple(lines),
        content_sha256=sha256_hex(content),
        file_name=file_name,
        source=providers[0] if len(providers) == 1 else ("mixed" if providers else "unknown"),
        metadata={"columns": table.header, "rows": len(lines), "model_column": model_column},
    )
