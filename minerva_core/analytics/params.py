"""Reading and checking analytics request parameters, and the bucketing math. Pure: no I/O.

Every refusal is an InvalidParameterError whose ``param`` names the offending parameter.

Instants: ISO 8601, a date (``2026-11-01``, UTC midnight) or a date-time with an offset
(``2026-11-01T10:00:00Z``); a date-time without an offset is read as UTC. A ``+`` sent
unencoded in a query string arrives as a space and is read as ``+``.

Alignment: the views hold whole UTC hours (mv_usage_hourly) and whole UTC days (the others),
so ``from`` is floored and ``to`` ceiled to the granularity the answer is built from; the
answer echoes the range it covers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from enum import Enum

from minerva_core.errors import InvalidParameterError

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAX_VALUE_LENGTH = 200
MAX_VALUES = 100


class Bucket(str, Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


DEFAULT_SPAN = {
    Bucket.HOUR: timedelta(hours=24),
    Bucket.DAY: timedelta(days=30),
    Bucket.WEEK: timedelta(weeks=12),
    Bucket.MONTH: timedelta(days=365),
}

USAGE_GROUPS = ("key", "app", "model", "provider", "status")
STATUS_CLASSES = ("ok", "error", "cancelled")
COST_GROUPS = ("day", "model", "provider", "key")
WINDOWS = ("hour", "day", "week")


def choice(raw: str | None, param: str, allowed: Iterable[str], default: str) -> str:
    allowed = tuple(allowed)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in allowed:
        raise InvalidParameterError(f"{param} must be one of {', '.join(allowed)}", param=param)
    return value


def split_values(raw: Iterable[str] | None, param: str, *, commas: bool = True) -> tuple[str, ...]:
    """Repeated (?p=a&p=b) and, unless commas=False, comma-separated (?p=a,b) values, in order,
    without duplicates. Empty or over-long values are refused."""
    values: list[str] = []
    for item in raw or ():
        parts = item.split(",") if commas else [item]
        for part in parts:
            value = part.strip()
            if not value:
                raise InvalidParameterError(f"{param} must not be empty", param=param)
            if len(value) > MAX_VALUE_LENGTH:
                raise InvalidParameterError(
                    f"{param} values are at most {MAX_VALUE_LENGTH} characters", param=param
                )
            values.append(value)
    unique = tuple(dict.fromkeys(values))
    if len(unique) > MAX_VALUES:
        raise InvalidParameterError(f"at most {MAX_VALUES} {param} values", param=param)
    return unique


def choices(raw: Iterable[str] | None, param: str, allowed: Iterable[str]) -> tuple[str, ...]:
    allowed = tuple(allowed)
    values = tuple(v.lower() for v in split_values(raw, param))
    for value in values:
        if value not in allowed:
            raise InvalidParameterError(
                f"{param} values must be among {', '.join(allowed)} (got an unknown one)", param=param
            )
    return tuple(dict.fromkeys(values))


def uuids(raw: Iterable[str] | None, param: str) -> tuple[uuid.UUID, ...]:
    out = []
    for value in split_values(raw, param):
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            raise InvalidParameterError(f"{param} values must be UUIDs", param=param) from None
    return tuple(dict.fromkeys(out))


def parse_instant(raw: str | None, param: str) -> datetime | None:
    """An ISO 8601 date or date-time, as an aware UTC datetime (None when absent)."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        raise InvalidParameterError(f"{param} must not be empty", param=param)
    if len(text) > 40:
        raise InvalidParameterError(f"{param} is not an ISO 8601 date or date-time", param=param)
    for candidate in (text, text.replace(" ", "+")):
        try:
            if len(candidate) == 10:
                day = date.fromisoformat(candidate)
                return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            value = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    raise InvalidParameterError(
        f"{param} must be an ISO 8601 date (2026-11-01) or date-time (2026-11-01T10:00:00Z)", param=param
    )


def floor_to(value: datetime, step: timedelta) -> datetime:
    """Floor an aware instant to a whole UTC hour or day."""
    value = value.astimezone(timezone.utc)
    if step == HOUR:
        return value.replace(minute=0, second=0, microsecond=0)
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_to(value: datetime, step: timedelta) -> datetime:
    floored = floor_to(value, step)
    return floored if floored == value else floored + step


def resolve_range(
    raw_from: str | None, raw_to: str | None, *, step: timedelta, default_span: timedelta, now: datetime
) -> tuple[datetime, datetime]:
    """[from, to) aligned outward to ``step``; to defaults to now, from to to - default_span.
    Refuses from >= to (as given, before alignment)."""
    start = parse_instant(raw_from, "from")
    end = parse_instant(raw_to, "to")
    if end is None:
        end = now
    if start is None:
        start = end - default_span
    if start >= end:
        raise InvalidParameterError("from must be before to", param="from")
    return floor_to(start, step), ceil_to(end, step)


def cost_range(raw_from: str | None, raw_to: str | None, *, now: datetime) -> tuple[datetime, datetime]:
    """analytics/costs' [from, to) in whole UTC days: month to date (today included) when
    neither is given, else resolve_range with a 30-day default span."""
    if raw_from is None and raw_to is None:
        today = now.astimezone(timezone.utc).date()
        return datetime(today.year, today.month, 1, tzinfo=timezone.utc), as_utc_midnight(today) + DAY
    return resolve_range(raw_from, raw_to, step=DAY, default_span=timedelta(days=30), now=now)


def as_utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def refuse_unknown(names: Iterable[str], known: Iterable[str]) -> None:
    known = frozenset(known)
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidParameterError(
            f"unknown query parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            param=unknown[0],
        )
