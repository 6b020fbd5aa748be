"""Reading one field of a bill exactly, or failing with its line and column.

Money is read from its own text into a Decimal (never through float): "0.0001395",
"-0.01" (a credit), "1.5e-7" are fine; "", "NaN", "1,5", "$3" are errors. Counts are whole,
non-negative integers. Times are ISO 8601; a time without an offset is taken as UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from minerva_core.errors import BillFormatError

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^\+?\d+$")
_TRUE = frozenset({"true", "t", "1", "yes"})
_FALSE = frozenset({"false", "f", "0", "no", ""})


def money(value: Any, line: int, column: str, *, required: bool = True) -> Decimal | None:
    """An amount in USD: a decimal string (or, from JSON, an int or a Decimal)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BillFormatError(line, column, "an amount is required here")
        return None
    if isinstance(value, bool) or isinstance(value, float):
        # A float has already lost the bill's digits: refuse rather than guess.
        raise BillFormatError(line, column, f"{value!r} is not an exact decimal amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
            raise BillFormatError(line, column, f"{value!r} is not a decimal amount") from None
    else:
        raise BillFormatError(line, column, f"{value!r} is not a decimal amount")
    if not number.is_finite():
        raise BillFormatError(line, column, f"{value!r} is not a finite amount")
    return number


def count(value: Any, line: int, column: str, *, required: bool = False) -> int | None:
    """A whole, non-negative count (tokens, requests)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BillFormatError(line, column, "a count is required here")
        return None
    if isinstance(value, bool):
        raise BillFormatError(line, column, f"{value!r} is not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        number = int(value.strip())
    elif isinstance(value, Decimal) and value == value.to_integral_value():
        number = int(value)
    else:
        raise BillFormatError(line, column, f"{value!r} is not a whole number")
    if number < 0:
        raise BillFormatError(line, column, f"{value!r} is negative")
    return number


def day(value: Any, line: int, column: str) -> date:
    """A UTC calendar day, YYYY-MM-DD (a full timestamp is accepted and cut to its UTC day)."""
    if not isinstance(value, str) or not value.strip():
        raise BillFormatError(line, column, "a date (YYYY-MM-DD) is required here")
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return instant(text, line, column).date()
    except BillFormatError:
        raise BillFormatError(line, column, f"{value!r} is not a date (YYYY-MM-DD)") from None


def instant(value: Any, line: int, column: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text; no offset means UTC."""
    if not isinstance(value, str) or not value.strip():
        raise BillFormatError(line, column, "a timestamp is required here")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BillFormatError(line, column, f"{value!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def text(value: Any, line: int, column: str, *, required: bool = False) -> str | None:
    """A non-empty string, stripped; None when empty and not required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BillFormatError(line, column, "a value is required here")
        return None
    if not isinstance(value, str):
        raise BillFormatError(line, column, f"{value!r} is not text")
    return value.strip()


def flag(value: Any, line: int, column: str) -> bool | None:
    """true/false (also t/f, 1/0, yes/no); None when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False if lowered else None
    raise BillFormatError(line, column, f"{value!r} is not true or false")
