"""Paging of the model browser: the page request (sort, order, limit, offset or cursor) and
the opaque keyset cursor, validated with errors that name the offending parameter. Pure."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from minerva_core.errors import InvalidParameterError

SORT_KEYS = ("id", "name", "context_length", "prompt_price", "completion_price", "quality", "created")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: its sort, order, last sort value and last id."""

    sort: str
    descending: bool
    value: Any
    last_id: str

    def encode(self) -> str:
        value = self.value
        if isinstance(value, Decimal):
            value = format(value.normalize(), "f")
        elif isinstance(value, datetime):
            value = value.isoformat()
        body = json.dumps({"s": self.sort, "d": self.descending, "v": value, "i": self.last_id})
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            sort, descending, value, last_id = raw["s"], raw["d"], raw["v"], raw["i"]
            if sort not in SORT_KEYS or not isinstance(descending, bool) or not isinstance(last_id, str):
                raise ValueError(sort)
            return cls(sort, descending, _typed(sort, value), last_id)
        except (ValueError, KeyError, TypeError, InvalidOperation, binascii.Error, UnicodeDecodeError):
            raise InvalidParameterError(
                "cursor is not a cursor this API issued; use next_cursor from a previous page",
                param="cursor",
            ) from None


@dataclass(frozen=True)
class PageRequest:
    sort: str = "id"
    descending: bool = False
    limit: int = 50
    offset: int = 0
    cursor: Cursor | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise InvalidParameterError(f"sort must be one of {', '.join(SORT_KEYS)}", param="sort")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidParameterError(f"limit must be between 1 and {MAX_LIMIT}", param="limit")
        if self.offset < 0:
            raise InvalidParameterError("offset must be 0 or more", param="offset")
        if self.cursor is not None:
            if self.offset:
                raise InvalidParameterError("give either offset or cursor, not both", param="cursor")
            if (self.cursor.sort, self.cursor.descending) != (self.sort, self.descending):
                order = "desc" if self.cursor.descending else "asc"
                raise InvalidParameterError(
                    f"this cursor belongs to sort={self.cursor.sort}&order={order}; "
                    "repeat that sort and order, or start again without a cursor",
                    param="cursor",
                )


def _typed(sort: str, value: Any) -> Any:
    """A cursor's JSON value back in the sort column's Python type (raises ValueError)."""
    if value is None or sort == "id":
        return None
    if sort == "name":
        if not isinstance(value, str):
            raise ValueError(sort)
        return value
    if sort == "context_length":
        if type(value) is not int:
            raise ValueError(sort)
        return value
    if sort == "created":
        return datetime.fromisoformat(value)
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(sort)
    return number


__all__ = ["MAX_LIMIT", "SORT_KEYS", "Cursor", "PageRequest"]
