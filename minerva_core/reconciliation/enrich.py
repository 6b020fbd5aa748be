"""What explains a discrepancy: the catalog price that was in force, and implied prices.

* ``catalog_prompt_price`` / ``catalog_completion_price``: the ai_model_prices row (model
  level) valid at the item's time (the ledger row's created_at; a group's first one), for
  price_drift and amount_mismatch items.
* ``implied_price``: bill amount / tokens (prompt + completion; the bill's count when it has
  one, else the ledger's) - the blended USD per token actually charged.
* ``estimated_price``: our estimate / the same tokens - the blended price our catalog implied.

A ratio is not an amount: it is computed in Decimal and rounded half-even to 24 decimals.
Only items that need explaining get them (not matched or duplicate items), so this Python
step stays small however large the run.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import polars as pl

from minerva_core.reconciliation.frames import MONEY, MONEY_SCALE, PRICES_SCHEMA

_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_EXPLAINED = ("amount_mismatch", "price_drift", "missing_in_ledger")
_PRICED = ("amount_mismatch", "price_drift")


def catalog_prices(items: pl.DataFrame, prices: pl.DataFrame | None) -> pl.DataFrame:
    """Add catalog_prompt_price and catalog_completion_price (null where not looked up)."""
    empty = items.with_columns(
        catalog_prompt_price=pl.lit(None, dtype=MONEY), catalog_completion_price=pl.lit(None, dtype=MONEY)
    )
    if prices is None or prices.height == 0:
        return empty
    wanted = items.filter(pl.col("classification").is_in(_PRICED) & pl.col("at").is_not_null())
    if wanted.height == 0:
        return empty
    table = prices.select(list(PRICES_SCHEMA)).sort("valid_from")
    found = (
        wanted.select("_row", "model", "at")
        .sort("at")
        .join_asof(table, left_on="at", right_on="valid_from", by_left="model", by_right="model_id",
                   strategy="backward", check_sortedness=False)
        .filter(pl.col("valid_to").is_null() | (pl.col("at") < pl.col("valid_to")))
        .select("_row", catalog_prompt_price=pl.col("prompt"), catalog_completion_price=pl.col("completion"))
    )
    return _place(items, found)


def implied_prices(items: pl.DataFrame) -> pl.DataFrame:
    """Add implied_price and estimated_price for the items that need explaining."""
    wanted = items.filter(pl.col("classification").is_in(_EXPLAINED)).select(
        "_row", "bill_amount_usd", "estimated_usd", tokens=pl.coalesce("bill_tokens", "ledger_tokens"),
    )
    rows, implied, estimated = [], [], []
    with localcontext(prec=80):
        for row, billed, estimate, tokens in wanted.iter_rows():
            rows.append(row)
            implied.append(_per_token(billed, tokens))
            estimated.append(_per_token(estimate, tokens))
    found = pl.DataFrame(
        {"_row": rows, "implied_price": implied, "estimated_price": estimated},
        schema={"_row": pl.Int64, "implied_price": MONEY, "estimated_price": MONEY},
    )
    return _place(items, found)


def _place(items: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Add found's columns to items at the rows ``_row`` names (the row positions), nulls
    elsewhere: a scatter into new columns, so the million-row items are never copied."""
    columns = []
    for name in found.columns:
        if name == "_row":
            continue
        column = pl.Series(name, [None] * items.height, dtype=found.schema[name])
        if found.height:
            column = column.scatter(found["_row"], found[name])
        columns.append(column)
    return items.with_columns(columns)


def _per_token(amount: Decimal | None, tokens: int | None) -> Decimal | None:
    if amount is None or not tokens:
        return None
    return (amount / tokens).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
