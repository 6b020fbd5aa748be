"""Which parser reads a bill: by the caller's word, else by the bytes."""

from __future__ import annotations

from minerva_core.billing.activity import parse_activity
from minerva_core.billing.csv_reader import CsvRows
from minerva_core.billing.invoice_csv import parse_invoice_csv
from minerva_core.billing.lines import ACTIVITY_API, BILL_KINDS, OPENROUTER_CSV, PROVIDER_INVOICE, ParsedBill
from minerva_core.billing.openrouter_csv import parse_generation_csv
from minerva_core.errors import BillFormatError

_PARSERS = {
    ACTIVITY_API: parse_activity,
    OPENROUTER_CSV: parse_generation_csv,
    PROVIDER_INVOICE: parse_invoice_csv,
}


def detect_kind(content: bytes) -> str:
    """JSON -> activity_api; a CSV whose header has generation_id -> openrouter_csv; other
    CSV -> provider_invoice."""
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"{", b"["):
        return ACTIVITY_API
    if not head:
        raise BillFormatError(1, None, "the file is empty")
    header = CsvRows(content, normalise=True).header
    return OPENROUTER_CSV if "generation_id" in header else PROVIDER_INVOICE


def parse_bill(content: bytes, *, file_name: str | None = None, kind: str | None = None) -> ParsedBill:
    """Parse a whole bill (every line checked) before anything is written anywhere."""
    if kind is None:
        kind = detect_kind(content)
    if kind not in BILL_KINDS:
        raise BillFormatError(None, None, f"unknown bill kind {kind!r}; one of {', '.join(BILL_KINDS)}")
    return _PARSERS[kind](content, file_name=file_name)
