"""OpenRouter GET /activity rows (one per UTC day x model x endpoint) as a bill.

The body is read with ``json.loads(parse_float=Decimal)``: ``usage`` is a JSON number, and
reading it as a float would change the bill's digits. Rows follow the official spec
(tests/fixtures/openrouter/openapi.yaml, ActivityItem): date, model, model_permaslug,
endpoint_id, provider_name, usage, byok_usage_inference, requests, prompt_tokens,
completion_tokens, reasoning_tokens are required; workspace_id and unknown keys are kept in raw.

A line's amount is ``usage`` (OpenRouter credits spent); BYOK inference stays in raw. Its
model is the row's ``model`` (an OpenRouter id); the permaslug is kept in raw. Errors name the
row by its 1-based position in ``data`` as the line.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from minerva_core.billing import fields as f
from minerva_core.billing.lines import ACTIVITY_API, BillLine, ParsedBill, json_bytes, raw_text, sha256_hex
from minerva_core.errors import BillFormatError

REQUIRED_FIELDS = (
    "date",
    "model",
    "model_permaslug",
    "endpoint_id",
    "provider_name",
    "usage",
    "byok_usage_inference",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
)


def load_activity_rows(content: bytes | str) -> list[dict[str, Any]]:
    """The row list of an /activity body ({"data": [...]} or a bare list), numbers exact."""
    try:
        body = json.loads(content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BillFormatError(None, None, f"not a JSON /activity body: {exc}") from None
    rows = body.get("data") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise BillFormatError(None, "data", "an /activity body must hold a list of rows in `data`")
    return rows


def parse_activity(content: bytes, *, file_name: str | None = None) -> ParsedBill:
    """Every row validated, or BillFormatError naming the first bad row and field."""
    rows = load_activity_rows(content)
    lines = tuple(_line(row, number) for number, row in enumerate(rows, start=1))
    return ParsedBill(
        kind=ACTIVITY_API,
        lines=lines,
        content_sha256=sha256_hex(content),
        file_name=file_name,
        source="openrouter",
        metadata={"rows": len(lines)},
    )


def activity_document(rows: list[dict[str, Any]], *, day_from: date | None = None,
                      day_to: date | None = None) -> bytes:
    """Canonical bytes of the rows of [day_from, day_to] (inclusive), as the import's content.

    Rows sorted by (date, model, endpoint_id), keys sorted, numbers as their exact digits: the
    same bill fetched twice has the same sha256, so a re-fetch imports nothing new.
    """

    def keep(row: dict[str, Any]) -> bool:
        when = row.get("date") if isinstance(row, dict) else None
        if not isinstance(when, str) or (day_from is None and day_to is None):
            return True
        try:
            on = date.fromisoformat(when[:10])
        except ValueError:
            return True  # let the parser report it with its line
        return (day_from is None or on >= day_from) and (day_to is None or on <= day_to)

    kept = [row for row in rows if keep(row)]
    kept.sort(key=lambda r: tuple(str(r.get(k, "")) if isinstance(r, dict) else "" for k in ("date", "model", "endpoint_id")))
    return json_bytes({"data": kept}, sort_keys=True)


def _line(row: Any, number: int) -> BillLine:
    if not isinstance(row, dict):
        raise BillFormatError(number, None, "an /activity row must be a JSON object")
    for name in REQUIRED_FIELDS:
        if name not in row:
            raise BillFormatError(number, name, "required field is missing")
    amount = f.money(row["usage"], number, "usage")
    f.money(row["byok_usage_inference"], number, "byok_usage_inference")
    return BillLine(
        line_no=number,
        bill_date=f.day(row["date"], number, "date"),
        amount_usd=amount,
        model=f.text(row["model"], number, "model", required=True),
        provider_name=f.text(row["provider_name"], number, "provider_name"),
        endpoint=f.text(row["endpoint_id"], number, "endpoint_id"),
        prompt_tokens=f.count(row["prompt_tokens"], number, "prompt_tokens", required=True),
        completion_tokens=f.count(row["completion_tokens"], number, "completion_tokens", required=True),
        reasoning_tokens=f.count(row["reasoning_tokens"], number, "reasoning_tokens", required=True),
        requests=f.count(row["requests"], number, "requests", required=True),
        raw=raw_text(row),
    )
