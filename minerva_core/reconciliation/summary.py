"""Totals, accuracy and breakdowns of a reconciliation (pure, from its items).

Accuracy = 1 - sum(|delta|) / billed total, clamped to [0, 1], where delta = bill - ledger per
item (a missing side counts 0; duplicates count, as they are billed or recorded twice) and
the billed total is the sum of the bill amounts of all items. It is the share of the bill
that the ledger's recorded charges account for, line by line: 1 means every item matched
within tolerance or differed by nothing. It is rounded *down* to 6 decimals, so 1 is only
shown when sum(|delta|) is exactly 0. A billed total <= 0 gives 1 if nothing differs, else 0.
Price drift concerns our estimate, not the charge: it does not lower accuracy and is reported
separately as ``price_drift_usd`` = sum(|bill - estimate|) over price_drift items.

Breakdowns per day, model and provider cover every item; per api key only generation-level
items whose ledger row names the key (aggregate bills do not know keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

import polars as pl

from minerva_core.reconciliation.classify import CLASSES
from minerva_core.reconciliation.frames import MONEY, trim_decimal
from minerva_core.reconciliation.reconcile import Reconciliation

_ZERO = Decimal(0)
_SIX = Decimal("0.000001")


def accuracy(abs_delta: Decimal, billed: Decimal) -> Decimal:
    if billed <= 0:
        return Decimal(1) if abs_delta == 0 else Decimal(0)
    with localcontext(prec=80):
        value = 1 - abs_delta / billed
    value = min(Decimal(1), max(_ZERO, value))
    return value.quantize(_SIX, rounding=ROUND_FLOOR)


@dataclass(frozen=True)
class Summary:
    tolerance: Decimal
    ledger_rows: int
    bill_lines: int
    item_count: int
    ledger_total_usd: Decimal
    ledger_estimated_usd: Decimal
    ledger_compared_usd: Decimal
    bill_total_usd: Decimal
    matched_total_usd: Decimal
    delta_usd: Decimal
    abs_delta_usd: Decimal
    price_drift_usd: Decimal
    accuracy: Decimal
    counts: dict[str, int]
    #: Per class: {"ledger_usd", "bill_usd", "delta_usd", "abs_delta_usd"}.
    amounts: dict[str, dict[str, Decimal]]
    superseded_lines: int
    superseded_usd: Decimal
    by_day: pl.DataFrame
    by_model: pl.DataFrame
    by_provider: pl.DataFrame
    by_api_key: pl.DataFrame
    mappings: pl.DataFrame

    @property
    def discrepancies(self) -> int:
        return self.item_count - self.counts.get("matched", 0)


def _dec(value: object) -> Decimal:
    return trim_decimal(Decimal(0) if value is None else Decimal(value))  # type: ignore[arg-type]


def _money_sums() -> list[pl.Expr]:
    zero = pl.lit(0, dtype=MONEY)
    return [
        pl.len().alias("items"),
        pl.coalesce("ledger_amount_usd", zero).sum().alias("ledger_usd"),
        pl.coalesce("bill_amount_usd", zero).sum().alias("bill_usd"),
        pl.col("delta_usd").sum().alias("delta_usd"),
        pl.col("delta_usd").abs().sum().alias("abs_delta_usd"),
    ]


def breakdown(items: pl.DataFrame, by: str) -> pl.DataFrame:
    """One row per value of ``by``: items, money sums, a count per class, accuracy (text)."""
    table = (
        items.group_by(by)
        .agg(*_money_sums(), *[(pl.col("classification") == c).sum().alias(c) for c in CLASSES])
        .sort(by, nulls_last=True)
    )
    scores = [
        str(accuracy(_dec(a), _dec(b)))
        for a, b in table.select("abs_delta_usd", "bill_usd").iter_rows()
    ]
    return table.with_columns(pl.Series("accuracy", scores, dtype=pl.String))


def top_discrepancies(items: pl.DataFrame, limit: int = 25) -> pl.DataFrame:
    """Items that are not matched, largest first: |delta|, or |bill - estimate| for price drift."""
    gap = (
        pl.when(pl.col("classification") == "price_drift")
        .then((pl.col("bill_amount_usd") - pl.col("estimated_usd")).abs())
        .otherwise(pl.col("delta_usd").abs())
    )
    return (
        items.filter(pl.col("classification") != "matched")
        .with_columns(gap_usd=gap)
        .sort(["gap_usd", "day", "model", "generation_id"], descending=[True, False, False, False], nulls_last=True)
        .head(limit)
    )


def summarise(result: Reconciliation) -> Summary:
    items = result.items
    per_class = items.group_by("classification").agg(*_money_sums())
    counts = {c: 0 for c in CLASSES}
    amounts = {c: {k: _ZERO for k in ("ledger_usd", "bill_usd", "delta_usd", "abs_delta_usd")} for c in CLASSES}
    for row in per_class.iter_rows(named=True):
        counts[row["classification"]] = row["items"]
        amounts[row["classification"]] = {k: _dec(row[k]) for k in ("ledger_usd", "bill_usd", "delta_usd", "abs_delta_usd")}
    with localcontext(prec=120):
        total = {k: sum((amounts[c][k] for c in CLASSES), _ZERO) for k in ("ledger_usd", "bill_usd", "delta_usd", "abs_delta_usd")}
    drift = items.filter(pl.col("classification") == "price_drift").select(
        (pl.col("bill_amount_usd") - pl.col("estimated_usd")).abs().sum()
    ).item() if counts["price_drift"] else None
    keyed = items.filter((pl.col("level") == "generation") & pl.col("api_key_id").is_not_null())
    return Summary(
        tolerance=result.tolerance,
        ledger_rows=result.ledger_rows,
        bill_lines=result.bill_lines,
        item_count=items.height,
        ledger_total_usd=result.ledger_total_usd,
        ledger_estimated_usd=result.ledger_estimated_usd,
        ledger_compared_usd=trim_decimal(total["ledger_usd"]),
        bill_total_usd=trim_decimal(total["bill_usd"]),
        matched_total_usd=amounts["matched"]["bill_usd"],
        delta_usd=trim_decimal(total["delta_usd"]),
        abs_delta_usd=trim_decimal(total["abs_delta_usd"]),
        price_drift_usd=_dec(drift),
        accuracy=accuracy(total["abs_delta_usd"], total["bill_usd"]),
        counts=counts,
        amounts=amounts,
        superseded_lines=result.superseded_lines,
        superseded_usd=result.superseded_usd,
        by_day=breakdown(items, "day"),
        by_model=breakdown(items, "model"),
        by_provider=breakdown(items, "provider_name"),
        by_api_key=breakdown(keyed, "api_key_id"),
        mappings=result.model_mappings,
    )
