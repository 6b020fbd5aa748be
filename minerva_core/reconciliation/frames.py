"""The frames reconciliation reads and writes, and how money is held in them.

Money representation: polars ``Decimal(38, 24)`` (``MONEY``), i.e. an exact 128-bit integer
count of 1e-24 USD. OpenRouter prices carry up to 22 decimals and a discount adds a couple
more, so every real charge or estimate fits exactly; 14 integer digits leave room for any
total. Sums and differences of MONEY are exact. An amount with more than 24 decimals is
refused (ReconciliationInputError) rather than rounded: polars would round silently, so every
way in (``money_series``, the DB loader) checks first. Python ``Decimal`` is used at the edges
(bills, reports, the database); float never touches money.

Times are naive UTC (``Datetime("us")``); days are UTC dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, Iterable, Mapping, Sequence

import polars as pl

from minerva_core.errors import ReconciliationInputError

MONEY_SCALE = 24
MONEY = pl.Decimal(38, MONEY_SCALE)
TIME = pl.Datetime("us")

LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String,
    "created_at": TIME,
    "generation_id": pl.String,
    "api_key_id": pl.String,
    "model": pl.String,               # usage_ledger.model_used
    "provider_name": pl.String,
    "prompt_tokens": pl.Int64,
    "completion_tokens": pl.Int64,
    "reasoning_tokens": pl.Int64,
    "cost_usd": MONEY,                # the upstream's charge; null until known
    "cost_estimated_usd": MONEY,      # ours, from ai_model_prices; null when a price was missing
}

BILL_SCHEMA: dict[str, pl.DataType] = {
    "bill_line_id": pl.Int64,
    "import_id": pl.String,
    "kind": pl.String,                # activity_api | openrouter_csv | provider_invoice
    "line_no": pl.Int64,
    "generation_id": pl.String,
    "bill_date": pl.Date,
    "model": pl.String,               # as billed: an id, or a permaslug for the CSV export
    "variant": pl.String,
    "provider_name": pl.String,
    "endpoint": pl.String,
    "amount_usd": MONEY,
    "prompt_tokens": pl.Int64,
    "completion_tokens": pl.Int64,
    "reasoning_tokens": pl.Int64,
    "requests": pl.Int64,
}

MODELS_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String, "canonical_slug": pl.String, "variant": pl.String,
}

PRICES_SCHEMA: dict[str, pl.DataType] = {
    "model_id": pl.String, "valid_from": TIME, "valid_to": TIME, "prompt": MONEY, "completion": MONEY,
}


def exact_money(value: Any, *, what: str = "amount") -> Decimal | None:
    """A Decimal that MONEY holds exactly, or ReconciliationInputError; None stays None."""
    if value is None:
        return None
    if isinstance(value, (float, bool)):
        raise ReconciliationInputError(f"{what} {value!r}: money must be a Decimal or decimal text, never float")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ReconciliationInputError(f"{what} {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ReconciliationInputError(f"{what} {value!r} is not finite")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    with localcontext(prec=120):
        inexact = exponent < -MONEY_SCALE and number != number.quantize(Decimal(1).scaleb(-MONEY_SCALE))
    if inexact:
        raise ReconciliationInputError(
            f"{what} {value} has more than {MONEY_SCALE} decimals; it cannot be reconciled exactly"
        )
    if abs(number) >= Decimal(10) ** (38 - MONEY_SCALE):
        raise ReconciliationInputError(f"{what} {value} is too large")
    return number


def money_series(name: str, values: Iterable[Any]) -> pl.Series:
    """A MONEY series from Decimals (or decimal text), each checked to fit exactly."""
    return pl.Series(name, [exact_money(v, what=name) for v in values], dtype=MONEY)


def frame(records: Sequence[Mapping[str, Any]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A frame of ``schema`` from dicts (missing keys are null); money checked exactly."""
    columns = {}
    for name, dtype in schema.items():
        values = [record.get(name) for record in records]
        if dtype == MONEY:
            columns[name] = money_series(name, values)
        elif dtype == TIME:
            columns[name] = pl.Series(name, [_naive_utc(v) for v in values], dtype=TIME)
        else:
            columns[name] = pl.Series(name, values, dtype=dtype)
    return pl.DataFrame(columns)


def ledger_frame(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    return frame(records, LEDGER_SCHEMA)


def bill_frame(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    return frame(records, BILL_SCHEMA)


def conform(data: pl.DataFrame, schema: Mapping[str, pl.DataType], what: str) -> pl.DataFrame:
    """Check a ready-made frame has the schema's columns with the schema's dtypes."""
    missing = [name for name in schema if name not in data.columns]
    if missing:
        raise ReconciliationInputError(f"{what} frame lacks column(s): {', '.join(missing)}")
    wrong = [f"{n} is {data.schema[n]}, expected {t}" for n, t in schema.items() if data.schema[n] != t]
    if wrong:
        raise ReconciliationInputError(f"{what} frame has wrong dtypes: {'; '.join(wrong)}")
    return data.select(list(schema))


def _naive_utc(value: Any) -> datetime | None:
    if value is None or not isinstance(value, datetime):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def trim_decimal(value: Decimal) -> Decimal:
    """The same number without trailing zeros (0.000123000... -> 0.000123, 12.000 -> 12)."""
    with localcontext(prec=120):  # normalize and quantize round to the context: keep every digit
        if value == value.to_integral_value():
            return value.quantize(Decimal(1))
        return value.normalize()


def decimal_text(value: Decimal | None) -> str:
    """Exact plain digits without trailing zeros: 0.000123, 12, -0.5 ("" for None)."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    out = format(value, "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return out


def money_text_expr(column: str) -> pl.Expr:
    """The same exact text, computed in polars (for CSV output of big frames)."""
    raw = pl.col(column).cast(pl.String)
    trimmed = raw.str.replace(r"(\.\d*?)0+$", "$1").str.replace(r"\.$", "")
    return pl.when(trimmed == "-0").then(pl.lit("0")).otherwise(trimmed).alias(column)


class Period:
    """Whole UTC days [day_from, day_to], i.e. instants [start, end) with end exclusive."""

    def __init__(self, day_from: date, day_to: date) -> None:
        if day_to < day_from:
            raise ReconciliationInputError(f"period ends ({day_to}) before it starts ({day_from})")
        self.day_from = day_from
        self.day_to = day_to

    @classmethod
    def parse(cls, day_from: str | date, day_to: str | date) -> "Period":
        return cls(_day(day_from, "from"), _day(day_to, "to"))

    @property
    def start(self) -> datetime:
        return datetime.combine(self.day_from, datetime.min.time(), tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight UTC after day_to."""
        return datetime.combine(self.day_to + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)

    @property
    def label(self) -> str:
        return f"{self.day_from.isoformat()}..{self.day_to.isoformat()}"

    def __repr__(self) -> str:
        return f"Period({self.label})"


def _day(value: str | date, which: str) -> date:
    if isinstance(value, datetime):
        raise ReconciliationInputError(f"--{which} must be a day (YYYY-MM-DD), not a timestamp")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ReconciliationInputError(f"--{which} {value!r} is not a day (YYYY-MM-DD)") from None


def parse_tolerance(value: str | Decimal) -> Decimal:
    """A tolerance in USD: exact, >= 0, at most 24 decimals."""
    if isinstance(value, float):
        raise ReconciliationInputError("tolerance must be given as decimal text, not float")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ReconciliationInputError(f"tolerance {value!r} is not a decimal number") from None
    if not number.is_finite() or number < 0:
        raise ReconciliationInputError(f"tolerance {value!r} must be a finite amount >= 0")
    return exact_money(number, what="tolerance")  # type: ignore[return-value]
