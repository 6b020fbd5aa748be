"""Bills: pure parsers for what OpenRouter and providers charge, and a small DB writer.

    bill = parse_bill(path.read_bytes(), file_name=path.name)   # every line checked, or BillFormatError
    with engine.begin() as conn:                                 # minerva_core.billing.store
        imported = import_bill(conn, bill)                       # idempotent on the file's sha256

Modules:

* ``fields``          exact field readers (money as Decimal from text, counts, days, instants)
* ``activity``        GET /activity rows (JSON read with Decimal floats), ``activity_document``
* ``openrouter_csv``  the per-generation CSV export: ``parse_generation_csv``, ``generation_csv``
* ``invoice_csv``     a generic provider invoice (date, provider, model|sku, quantity, amount)
* ``parse``           ``parse_bill`` / ``detect_kind``
* ``store``           ``import_bill`` (one transaction, COPY), ``import_bill_file`` (sqlalchemy)

Everything but ``store`` is pure: no database, no HTTP.
"""

from minerva_core.billing.activity import activity_document, load_activity_rows, parse_activity
from minerva_core.billing.invoice_csv import parse_invoice_csv
from minerva_core.billing.lines import (
    ACTIVITY_API,
    BILL_KINDS,
    OPENROUTER_CSV,
    PROVIDER_INVOICE,
    BillLine,
    ParsedBill,
)
from minerva_core.billing.openrouter_csv import (
    GENERATION_CSV_COLUMNS,
    generation_csv,
    parse_generation_csv,
    row_from_generation,
)
from minerva_core.billing.parse import detect_kind, parse_bill

__all__ = [
    "ACTIVITY_API",
    "BILL_KINDS",
    "GENERATION_CSV_COLUMNS",
    "OPENROUTER_CSV",
    "PROVIDER_INVOICE",
    "BillLine",
    "ParsedBill",
    "activity_document",
    "detect_kind",
    "generation_csv",
    "load_activity_rows",
    "parse_activity",
    "parse_bill",
    "parse_generation_csv",
    "parse_invoice_csv",
    "row_from_generation",
]
