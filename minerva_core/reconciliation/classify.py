"""Ledger vs bill: pair the lines on the finest key both have, then give each pair one class.

Keys: ``generation_id`` on generation-level days (a per-generation bill covers them), else
(UTC day, model id, provider name - case-insensitive) with both sides summed (see prepare).

Every ledger row and every bill line (except superseded aggregate lines) ends up in exactly
one item, and every item has exactly one class. Precedence, first rule that applies wins:

1. ``duplicate``          a later occurrence of a generation_id already seen on the same side
                          (ledger or bill), or a repeated /activity row; the item carries that
                          side's amount only, so totals still add up; the first occurrence is
                          matched normally.
2. ``missing_in_ledger``  billed, never recorded (lost usage): no ledger side.
3. ``missing_in_bill``    recorded, not billed: no bill side.
4. ``amount_mismatch``    |bill - ledger amount| > tolerance. The ledger amount is cost_usd
                          (the upstream charge we recorded), or, while that is unknown, our
                          estimate (``amount_source`` says which; 0 when neither is known).
5. ``price_drift``        the charge agrees (rule 4 passed) and was known, but our estimate
                          cost_estimated_usd is off by more than the tolerance: the catalog
                          price used was stale. Reported with implied price per token
                          (bill / tokens), our estimate per token and the catalog prices.
6. ``matched``            otherwise (including a line whose estimate is unknown).

The tolerance applies per item (per generation, or per day x model x provider group).
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from minerva_core.reconciliation.frames import MONEY
from minerva_core.reconciliation.prepare import AGGREGATE, GENERATION

CLASSES = ("matched", "amount_mismatch", "missing_in_ledger", "missing_in_bill", "price_drift", "duplicate")
#: The first class that applies wins (see the module docstring).
PRECEDENCE = ("duplicate", "missing_in_ledger", "missing_in_bill", "amount_mismatch", "price_drift", "matched")

PAIR_COLUMNS: dict[str, pl.DataType] = {
    "level": pl.String,
    "generation_id": pl.String,
    "day": pl.Date,
    "model": pl.String,
    "provider_name": pl.String,
    "api_key_id": pl.String,
    "ledger_request_id": pl.String,
    "bill_line_id": pl.Int64,
    "has_ledger": pl.Boolean,
    "has_bill": pl.Boolean,
    "ledger_amount_usd": MONEY,
    "bill_amount_usd": MONEY,
    "estimated_usd": MONEY,
    "charge_known": pl.Boolean,
    "ledger_tokens": pl.Int64,
    "bill_tokens": pl.Int64,
    "ledger_rows": pl.Int64,
    "bill_lines": pl.Int64,
    "at": pl.Datetime("us"),
    "amount_source": pl.String,
    "bill_model": pl.String,
    "model_mapping": pl.String,
    "model_candidates": pl.String,
    "duplicate_of": pl.String,
    "_lo": pl.Int64,   # ledger ordinal (input position), for a cheap stable order
    "_ao": pl.Int64,   # aggregate group ordinal (by day, model, provider), set after collecting
}


def _cols(frame: pl.LazyFrame, **exprs: pl.Expr) -> pl.LazyFrame:
    """Select exactly PAIR_COLUMNS, nulls for the ones not given, cast to their dtypes."""
    return frame.select([
        (exprs[name] if name in exprs else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in PAIR_COLUMNS.items()
    ])


def ledger_duplicates(ledger: pl.LazyFrame) -> pl.LazyFrame:
    return _cols(
        ledger.filter(pl.col("occurrence") > 0),
        level=pl.col("level"), generation_id=pl.col("generation_id"), day=pl.col("day"),
        model=pl.col("model_id"), provider_name=pl.col("provider_name"), api_key_id=pl.col("api_key_id"),
        ledger_request_id=pl.col("request_id"), has_ledger=pl.lit(True), has_bill=pl.lit(False),
        ledger_amount_usd=pl.col("amount"), estimated_usd=pl.col("cost_estimated_usd"),
        charge_known=pl.col("cost_usd").is_not_null(), ledger_tokens=pl.col("tokens"), ledger_rows=pl.lit(1),
        bill_lines=pl.lit(0), at=pl.col("created_at"), amount_source=pl.col("amount_source"),
        model_mapping=pl.col("model_mapping"), duplicate_of=pl.col("duplicate_of"), _lo=pl.col("_ord"),
    )


def bill_duplicates(bills: pl.LazyFrame) -> pl.LazyFrame:
    return _cols(
        bills.filter((pl.col("occurrence") > 0) & (pl.col("level") != "superseded")),
        level=pl.col("level"), generation_id=pl.col("generation_id"), day=pl.col("day"),
        model=pl.col("model_id"), provider_name=pl.col("provider_name"), bill_line_id=pl.col("bill_line_id"),
        has_ledger=pl.lit(False), has_bill=pl.lit(True), bill_amount_usd=pl.col("amount_usd"),
        bill_tokens=pl.col("tokens"), ledger_rows=pl.lit(0), bill_lines=pl.lit(1), bill_model=pl.col("model"),
        model_mapping=pl.col("model_mapping"), model_candidates=pl.col("model_candidates"),
        duplicate_of=pl.col("duplicate_of"),
    )


def generation_pairs(ledger: pl.LazyFrame, bills: pl.LazyFrame) -> pl.LazyFrame:
    """First occurrences matched by generation_id; ledger rows without an id stand alone."""
    led = ledger.filter((pl.col("level") == GENERATION) & (pl.col("occurrence") == 0))
    left = led.filter(pl.col("generation_id").is_not_null()).select(
        "generation_id", *[pl.col(c).alias(f"l_{c}") for c in (
            "request_id", "day", "model_id", "provider_name", "api_key_id", "amount", "cost_estimated_usd",
            "cost_usd", "tokens", "created_at", "amount_source", "model_mapping", "_ord")],
    ).with_columns(l_present=pl.lit(True))
    right = bills.filter((pl.col("level") == GENERATION) & (pl.col("occurrence") == 0)).select(
        "generation_id", *[pl.col(c).alias(f"b_{c}") for c in (
            "bill_line_id", "day", "model_id", "provider_name", "amount_usd", "tokens", "model",
            "model_mapping", "model_candidates")],
    ).with_columns(b_present=pl.lit(True))
    joined = left.join(right, on="generation_id", how="full", coalesce=True)
    paired = _cols(
        joined,
        level=pl.lit(GENERATION), generation_id=pl.col("generation_id"),
        day=pl.coalesce("l_day", "b_day"), model=pl.coalesce("l_model_id", "b_model_id"),
        provider_name=pl.coalesce("l_provider_name", "b_provider_name"), api_key_id=pl.col("l_api_key_id"),
        ledger_request_id=pl.col("l_request_id"), bill_line_id=pl.col("b_bill_line_id"),
        has_ledger=pl.col("l_present").fill_null(False), has_bill=pl.col("b_present").fill_null(False),
        ledger_amount_usd=pl.col("l_amount"), bill_amount_usd=pl.col("b_amount_usd"),
        estimated_usd=pl.col("l_cost_estimated_usd"), charge_known=pl.col("l_cost_usd").is_not_null(),
        ledger_tokens=pl.col("l_tokens"), bill_tokens=pl.col("b_tokens"),
        ledger_rows=pl.col("l_present").fill_null(False).cast(pl.Int64),
        bill_lines=pl.col("b_present").fill_null(False).cast(pl.Int64),
        at=pl.col("l_created_at"), amount_source=pl.col("l_amount_source"), bill_model=pl.col("b_model"),
        model_mapping=pl.coalesce("b_model_mapping", "l_model_mapping"), model_candidates=pl.col("b_model_candidates"),
        _lo=pl.col("l__ord"),
    )
    orphans = _cols(
        led.filter(pl.col("generation_id").is_null()),
        level=pl.lit(GENERATION), day=pl.col("day"), model=pl.col("model_id"),
        provider_name=pl.col("provider_name"), api_key_id=pl.col("api_key_id"),
        ledger_request_id=pl.col("request_id"), has_ledger=pl.lit(True), has_bill=pl.lit(False),
        ledger_amount_usd=pl.col("amount"), estimated_usd=pl.col("cost_estimated_usd"),
        charge_known=pl.col("cost_usd").is_not_null(), ledger_tokens=pl.col("tokens"), ledger_rows=pl.lit(1),
        bill_lines=pl.lit(0), at=pl.col("created_at"), amount_source=pl.col("amount_source"),
        model_mapping=pl.col("model_mapping"), _lo=pl.col("_ord"),
    )
    return pl.concat([paired, orphans])


def aggregate_pairs(ledger: pl.LazyFrame, bills: pl.LazyFrame) -> pl.LazyFrame:
    """Both sides summed per (day, model id, provider), then joined on that key."""
    keys = ["day", "model_id", "provider_key"]
    provider_key = pl.col("provider_name").str.to_lowercase().fill_null("").alias("provider_key")
    led = (
        ledger.filter((pl.col("level") == AGGREGATE) & (pl.col("occurrence") == 0))
        .with_columns(provider_key)
        .group_by(keys)
        .agg(
            l_provider=pl.col("provider_name").drop_nulls().first(),
            l_amount=pl.col("amount").sum(),
            l_estimate=pl.when(pl.col("cost_estimated_usd").null_count() == 0)
            .then(pl.col("cost_estimated_usd").sum()).otherwise(None),
            l_charge_known=pl.col("cost_usd").null_count() == 0,
            l_tokens=pl.col("tokens").sum(),
            l_rows=pl.len().cast(pl.Int64),
            l_at=pl.col("created_at").min(),
            l_request=pl.when(pl.len() == 1).then(pl.col("request_id").first()).otherwise(None),
            l_source=pl.when(pl.col("amount_source").n_unique() == 1)
            .then(pl.col("amount_source").first()).otherwise(pl.lit("mixed")),
            l_mapping=pl.col("model_mapping").first(),
        )
    )
    bil = (
        bills.filter((pl.col("level") == AGGREGATE) & (pl.col("occurrence") == 0))
        .with_columns(provider_key)
        .group_by(keys)
        .agg(
            b_provider=pl.col("provider_name").drop_nulls().first(),
            b_amount=pl.col("amount_usd").sum(),
            b_tokens=pl.when(pl.col("tokens").null_count() == 0).then(pl.col("tokens").sum()).otherwise(None),
            b_lines=pl.len().cast(pl.Int64),
            b_line_id=pl.when(pl.len() == 1).then(pl.col("bill_line_id").first()).otherwise(None),
            b_model=pl.col("model").first(),
            b_mapping=pl.col("model_mapping").first(),
            b_candidates=pl.col("model_candidates").first(),
        )
        .with_columns(b_present=pl.lit(True))
    )
    joined = led.with_columns(l_present=pl.lit(True)).join(bil, on=keys, how="full", coalesce=True, nulls_equal=True)
    return _cols(
        joined,
        level=pl.lit(AGGREGATE), day=pl.col("day"), model=pl.col("model_id"),
        provider_name=pl.coalesce("l_provider", "b_provider"), ledger_request_id=pl.col("l_request"),
        bill_line_id=pl.col("b_line_id"), has_ledger=pl.col("l_present").fill_null(False),
        has_bill=pl.col("b_present").fill_null(False), ledger_amount_usd=pl.col("l_amount"),
        bill_amount_usd=pl.col("b_amount"), estimated_usd=pl.col("l_estimate"),
        charge_known=pl.col("l_charge_known").fill_null(False), ledger_tokens=pl.col("l_tokens"),
        bill_tokens=pl.col("b_tokens"), ledger_rows=pl.col("l_rows").fill_null(0),
        bill_lines=pl.col("b_lines").fill_null(0), at=pl.col("l_at"), amount_source=pl.col("l_source"),
        bill_model=pl.col("b_model"), model_mapping=pl.coalesce("b_mapping", "l_mapping"),
        model_candidates=pl.col("b_candidates"),
    )


def classification(tolerance: Decimal, *, duplicate: bool = False) -> pl.Expr:
    """The class of a pair, by PRECEDENCE."""
    if duplicate:
        return pl.lit("duplicate")
    tol = pl.lit(tolerance, dtype=MONEY)
    charge_gap = (pl.col("bill_amount_usd") - pl.col("ledger_amount_usd")).abs()
    estimate_gap = (pl.col("bill_amount_usd") - pl.col("estimated_usd")).abs()
    return (
        pl.when(~pl.col("has_ledger")).then(pl.lit("missing_in_ledger"))
        .when(~pl.col("has_bill")).then(pl.lit("missing_in_bill"))
        .when(charge_gap > tol).then(pl.lit("amount_mismatch"))
        .when(pl.col("charge_known") & pl.col("estimated_usd").is_not_null() & (estimate_gap > tol))
        .then(pl.lit("price_drift"))
        .otherwise(pl.lit("matched"))
    )
