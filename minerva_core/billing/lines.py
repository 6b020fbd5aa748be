"""A parsed bill: its lines as billed, and the file's identity (sha256) for idempotency."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, localcontext
from typing import Any, Mapping

import orjson

from minerva_core.pricing import decimal_string

#: bill_imports.kind values.
ACTIVITY_API = "activity_api"
OPENROUTER_CSV = "openrouter_csv"
PROVIDER_INVOICE = "provider_invoice"
BILL_KINDS = (ACTIVITY_API, OPENROUTER_CSV, PROVIDER_INVOICE)


@dataclass(frozen=True, slots=True)
class BillLine:
    """One line as billed. ``line_no`` is the 1-based data row (bill_lines.line_no); ``model``
    is what the bill names: a model id (/activity, invoices) or a permaslug (CSV export)."""

    line_no: int
    bill_date: date
    amount_usd: Decimal
    generation_id: str | None = None
    occurred_at: datetime | None = None
    model: str | None = None
    variant: str | None = None
    provider_name: str | None = None
    endpoint: str | None = None
    api_key_label: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    requests: int | None = None
    #: The source row, every column kept; decimals as their exact text.
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParsedBill:
    kind: str
    lines: tuple[BillLine, ...]
    content_sha256: str
    file_name: str | None = None
    source: str = "openrouter"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def period_from(self) -> date | None:
        return min((line.bill_date for line in self.lines), default=None)

    @property
    def period_to(self) -> date | None:
        """Last day covered, inclusive."""
        return max((line.bill_date for line in self.lines), default=None)

    @property
    def total_amount_usd(self) -> Decimal:
        with localcontext(prec=200):
            return sum((line.amount_usd for line in self.lines), Decimal(0))


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(decimal_string(value).encode("ascii"))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in JSON")


def json_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """JSON with Decimals written as their exact digits (never through float)."""
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    return orjson.dumps(value, default=_json_default, option=option)


def raw_text(value: Any) -> Any:
    """A JSON-safe copy of a source value for ``raw``: Decimals become exact strings."""
    if isinstance(value, Decimal):
        return decimal_string(value)
    if isinstance(value, Mapping):
        return {str(k): raw_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [raw_text(v) for v in value]
    return value
