"""Reconciliation of the usage ledger against bills.

Pure (polars, no I/O):

* ``frames``    schemas, MONEY = Decimal(38, 24) (exact; see the docstring), Period, tolerance
* ``models``    permaslug / id -> model id mapping (canonical_slug, variant), ambiguity flagged
* ``prepare``   duplicates, generation- vs aggregate-level days, superseded aggregate lines
* ``classify``  pairing and the class precedence (duplicate > missing_in_ledger >
                missing_in_bill > amount_mismatch > price_drift > matched)
* ``enrich``    catalog prices in force, implied prices per token
* ``reconcile`` ``reconcile(ledger, bills, tolerance=...) -> Reconciliation``
* ``summary``   totals, accuracy (1 - sum|delta| / billed, clamped), per day/model/provider/key
* ``report``, ``html``   CSV/Parquet items, markdown, table rows, the HTML finance report

With I/O: ``store`` (load via COPY, store a run), ``pipeline`` (the steps the flow and CLI run).
"""

from minerva_core.reconciliation.classify import CLASSES, PRECEDENCE
from minerva_core.reconciliation.frames import (
    BILL_SCHEMA,
    LEDGER_SCHEMA,
    MODELS_SCHEMA,
    MONEY,
    PRICES_SCHEMA,
    Period,
    bill_frame,
    ledger_frame,
    parse_tolerance,
)
from minerva_core.reconciliation.reconcile import ITEM_COLUMNS, Reconciliation, reconcile
from minerva_core.reconciliation.summary import Summary, accuracy, summarise

__all__ = [
    "BILL_SCHEMA",
    "CLASSES",
    "ITEM_COLUMNS",
    "LEDGER_SCHEMA",
    "MODELS_SCHEMA",
    "MONEY",
    "PRECEDENCE",
    "PRICES_SCHEMA",
    "Period",
    "Reconciliation",
    "Summary",
    "accuracy",
    "bill_frame",
    "ledger_frame",
    "parse_tolerance",
    "reconcile",
    "summarise",
]
