"""Exact price handling for the catalog: reading OpenRouter price values, the price frame and
its ``price_hash``. Pure.

Decimal handling (see also ``schema``): every price value is first checked in Python against
a plain-decimal pattern (at most 8 integer digits and 30 decimals); values in another spelling
(``"1e-7"``, a JSON number) go through ``decimal.Decimal`` and are rewritten as plain
decimals only when that is exact. The frame then holds ``pl.Decimal(38, 30)``, which keeps
each value exactly; ``frame.to_dicts()`` gives ``decimal.Decimal``. ``price_decimals`` is a
convenience reader for one model.

Semantics, per model:

* ``"-1"`` (routers such as ``openrouter/auto``) means the price varies per request:
  ``is_variable`` is True and every price dimension is null - never a negative number.
  Any other negative value is a ``CatalogPriceError``.
* ``prompt`` and ``completion`` must be present (``CatalogPriceError`` otherwise: a missing
  price is an error, never a default). Every other dimension that is absent is 0 - the
  2026 API omits zero-valued keys, 2025 wrote them as ``"0"``.
* ``discount`` (a JSON number, a fraction) is kept as given, 0 when absent.
* ``overrides`` (prompt-size or UTC-window tiers) is kept verbatim as a JSON string.
* ``is_free``: not variable and every dimension, discount excepted, is 0.
* ``price_hash``: SHA-256 over the fixed-scale decimal of every dimension, the variable flag
  and the overrides in canonical form (keys sorted, numbers normalised, list order kept:
  later tiers win). So ``"0"``, ``"0.0"`` and an omitted key hash alike, and a 2025-style
  and a 2026-style record of the same prices hash alike.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import polars as pl

from minerva_core.catalog.schema import (
    MAX_PRICE_INTEGER_DIGITS,
    PRICE_DIMENSIONS,
    PRICE_DTYPE,
    PRICE_SCALE,
)

VARIABLE = object()  # marker returned by read_price_value for "-1"
HASH_VERSION = "p1"

_PLAIN = re.compile(
    rf"^\d{{1,{MAX_PRICE_INTEGER_DIGITS}}}(?:\.\d{{1,{PRICE_SCALE}}})?$"
)


class PriceValueError(ValueError):
    """Internal: a price value that cannot be kept exactly; wrapped by the caller."""


def read_price_value(value: Any) -> str | object:
    """A plain decimal string for a price value, or ``VARIABLE`` for -1.

    Raises PriceValueError for anything that is not an exact, non-negative decimal (other
    than -1) representable at scale 30 with at most 8 integer digits.
    """
    if type(value) is str:
        if _PLAIN.match(value):
            return value
        text = value.strip()
    elif type(value) is int:
        text = str(value)
    elif type(value) is float:
        text = repr(value)
    else:
        raise PriceValueError(f"a price must be a decimal string, not {type(value).__name__}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PriceValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise PriceValueError(f"{value!r} is not a finite number")
    if number == -1:
        return VARIABLE
    if number < 0:
        raise PriceValueError(f"{value!r} is negative (only -1, variable pricing, is allowed)")
    plain = format(number, "f")
    if not _PLAIN.match(plain):
        plain = format(number.normalize(), "f")
        if not _PLAIN.match(plain):
            raise PriceValueError(
                f"{value!r} does not fit an exact decimal of {MAX_PRICE_INTEGER_DIGITS} integer "
                f"digits and {PRICE_SCALE} decimals"
            )
    return plain


def canonical_number(value: Any) -> Any:
    """Numbers and decimal strings as a normalised decimal string; anything else unchanged."""
    if type(value) in (int, float, str):
        try:
            number = Decimal(repr(value) if type(value) is float else str(value))
        except InvalidOperation:
            return value
        if number.is_finite():
            return format(number.normalize(), "f") if number else "0"
    return value


def canonical_overrides(overrides: list[Any]) -> str:
    """Canonical JSON of an overrides list (for hashing): numbers normalised, keys sorted."""
    canon = [
        {k: canonical_number(v) for k, v in item.items()} if isinstance(item, dict) else item
        for item in overrides
    ]
    return orjson.dumps(canon, option=orjson.OPT_SORT_KEYS).decode()


def build_prices_frame(columns: dict[str, list[Any]]) -> pl.DataFrame:
    """The prices frame from the extracted price columns.

    ``columns`` holds ``id``, ``is_variable``, one list of plain decimal strings (or None for
    absent) per price dimension, ``overrides`` (JSON or None) and ``_overrides_canon``.
    """
    frame = pl.DataFrame(
        columns,
        schema={
            "id": pl.String,
            "is_variable": pl.Boolean,
            **{dim: pl.String for dim in PRICE_DIMENSIONS},
            "overrides": pl.String,
            "_overrides_canon": pl.String,
        },
    )
    variable = pl.col("is_variable")
    frame = frame.with_columns(
        pl.when(variable)
        .then(pl.lit(None, dtype=PRICE_DTYPE))
        .otherwise(pl.col(dim).fill_null("0").cast(PRICE_DTYPE, strict=True))
        .alias(dim)
        for dim in PRICE_DIMENSIONS
    )
    charged = [dim for dim in PRICE_DIMENSIONS if dim != "discount"]
    frame = frame.with_columns(
        (~variable & pl.all_horizontal(pl.col(dim) == 0 for dim in charged)).alias("is_free"),
        pl.concat_str(
            [
                pl.lit(HASH_VERSION),
                variable.cast(pl.String),
                *(pl.col(dim).cast(pl.String).fill_null("-") for dim in PRICE_DIMENSIONS),
                pl.col("_overrides_canon").fill_null("-"),
            ],
            separator="|",
        ).alias("_canon"),
    )
    hashes = [hashlib.sha256(text.encode()).hexdigest() for text in frame["_canon"].to_list()]
    return frame.with_columns(pl.Series("price_hash", hashes, dtype=pl.String)).select(
        "id", "is_variable", "is_free", *PRICE_DIMENSIONS, "overrides", "price_hash"
    )


def price_decimals(prices: pl.DataFrame, model_id: str) -> dict[str, Decimal | None]:
    """The price dimensions of one model as ``decimal.Decimal`` (None when variable)."""
    row = prices.filter(pl.col("id") == model_id).select(PRICE_DIMENSIONS)
    if row.height != 1:
        raise KeyError(model_id)
    return row.row(0, named=True)
