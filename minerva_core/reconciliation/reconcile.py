"""``reconcile(ledger, bills, tolerance=...)``: the whole pure comparison, frames in, items out.

    result = reconcile(ledger_frame(rows), bill_frame(lines), tolerance="0.000001",
                       models=models_frame, prices=prices_frame)
    result.items            # one row per item, classes per classify.PRECEDENCE
    summarise(result)       # totals, accuracy, per-day/model/provider/api-key tables

Pure: polars only (lazy through the joins and group-bys, collected once per side), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl

from minerva_core.reconciliation import classify as c
from minerva_core.reconciliation.enrich import catalog_prices, implied_prices
from minerva_core.reconciliation.frames import (
    BILL_SCHEMA, LEDGER_SCHEMA, MODELS_SCHEMA, MONEY, PRICES_SCHEMA, conform, parse_tolerance, trim_decimal,
)
from minerva_core.reconciliation.prepare import (
    SUPERSEDED, assign_levels, generation_days, mappings, prepare_bills, prepare_ledger,
)

ITEM_COLUMNS = (
    "classification", "level", "generation_id", "day", "model", "provider_name", "api_key_id",
    "ledger_request_id", "bill_line_id", "ledger_amount_usd", "bill_amount_usd", "delta_usd",
    "estimated_usd", "implied_price", "estimated_price", "catalog_prompt_price",
    "catalog_completion_price", "ledger_tokens", "bill_tokens", "ledger_rows", "bill_lines",
    "amount_source", "bill_model", "model_mapping", "model_candidates", "duplicate_of", "at",
)


@dataclass(frozen=True)
class Reconciliation:
    items: pl.DataFrame
    tolerance: Decimal
    ledger_rows: int
    bill_lines: int
    #: Sum of the ledger's cost_usd (the charges recorded) and of cost_estimated_usd.
    ledger_total_usd: Decimal
    ledger_estimated_usd: Decimal
    #: Aggregate bill lines set aside because a per-generation bill covers their day.
    superseded_lines: int
    superseded_usd: Decimal
    generation_days: tuple[date, ...]
    #: How each billed model name was mapped to a model id (see models.py).
    model_mappings: pl.DataFrame

    @property
    def ambiguous_mappings(self) -> pl.DataFrame:
        return self.model_mappings.filter(pl.col("mapping").is_in(["ambiguous", "unmapped"]))


def reconcile(
    ledger: pl.DataFrame,
    bills: pl.DataFrame,
    *,
    tolerance: str | Decimal,
    models: pl.DataFrame | None = None,
    prices: pl.DataFrame | None = None,
) -> Reconciliation:
    tol = parse_tolerance(tolerance)
    ledger = conform(ledger, LEDGER_SCHEMA, "ledger")
    bills = conform(bills, BILL_SCHEMA, "bill")
    if models is not None:
        models = conform(models, MODELS_SCHEMA, "models")
    if prices is not None:
        prices = conform(prices, PRICES_SCHEMA, "prices")

    mapped = mappings(ledger, bills, models)
    days = generation_days(bills)
    led_done, bil_done = assign_levels(prepare_ledger(ledger, mapped), prepare_bills(bills, mapped), days)
    superseded = bil_done.filter(pl.col("level") == SUPERSEDED)
    superseded_lines, superseded_usd = superseded.height, _sum(superseded, "amount_usd")
    led, bil = led_done.lazy(), bil_done.lazy()

    generation_level = pl.concat([
        c.ledger_duplicates(led).with_columns(classification=c.classification(tol, duplicate=True)),
        c.bill_duplicates(bil).with_columns(classification=c.classification(tol, duplicate=True)),
        c.generation_pairs(led, bil).with_columns(classification=c.classification(tol)),
    ])
    aggregate_level = c.aggregate_pairs(led, bil).with_columns(classification=c.classification(tol))
    generation_items, aggregate_items = pl.collect_all([generation_level, aggregate_level])
    del led, bil, led_done, bil_done, superseded  # the prepared inputs are no longer needed
    # Aggregate groups are few: order them by name; generation items by day, time and position.
    aggregate_items = aggregate_items.sort("day", "model", "provider_name", nulls_last=True).with_columns(
        _ao=pl.int_range(pl.len(), dtype=pl.Int64)
    )
    zero = pl.lit(0, dtype=MONEY)
    items = (
        pl.concat([generation_items, aggregate_items], rechunk=False)
        .with_columns(delta_usd=pl.coalesce("bill_amount_usd", zero) - pl.coalesce("ledger_amount_usd", zero))
        .sort("day", "_ao", "at", "bill_line_id", "_lo", nulls_last=True)
        .with_row_index("_row")
        .with_columns(pl.col("_row").cast(pl.Int64))
    )
    del generation_items, aggregate_items
    items = implied_prices(catalog_prices(items, prices)).select(ITEM_COLUMNS)

    return Reconciliation(
        items=items,
        tolerance=tol,
        ledger_rows=ledger.height,
        bill_lines=bills.height,
        ledger_total_usd=_sum(ledger, "cost_usd"),
        ledger_estimated_usd=_sum(ledger, "cost_estimated_usd"),
        superseded_lines=superseded_lines,
        superseded_usd=superseded_usd,
        generation_days=tuple(days),
        model_mappings=mapped.filter(pl.col("bill_lines") > 0).select(
            "name", "variant", "model_id", "mapping", "candidates", "bill_lines"
        ),
    )


def _sum(data: pl.DataFrame, column: str) -> Decimal:
    value = data.get_column(column).sum() if data.height else None
    return trim_decimal(Decimal(0) if value is None else Decimal(value))
