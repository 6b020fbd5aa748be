"""OpenRouter's per-generation CSV export: one line per generation, with its charge.

The header must hold every column of ``GENERATION_CSV_COLUMNS`` (in any order); extra
columns are tolerated and kept in raw. A line's amount is ``cost_total``; the other cost
columns are validated as amounts when present and kept in raw. Its model is
``model_permaslug`` (the canonical slug, mapped to a model id at reconciliation time, with
``variant`` to tell a ":free" variant from its paid model). ``created_at`` is ISO 8601 (no
offset means UTC); its UTC day is the line's bill day.

``generation_csv`` writes the same format (used to build bills from the emulator's
generations in tests, and by anyone who needs to hand-craft an export).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

from minerva_core.billing import fields as f
from minerva_core.billing.csv_reader import CsvRows
from minerva_core.billing.lines import OPENROUTER_CSV, BillLine, ParsedBill, sha256_hex
from minerva_core.pricing import decimal_string

GENERATION_CSV_COLUMNS = (
    "generation_id",
    "created_at",
    "cost_total",
    "cost_web_search",
    "cost_cache",
    "cost_file_processing",
    "byok_usage_inference",
    "tokens_prompt",
    "tokens_completion",
    "tokens_reasoning",
    "tokens_cached",
    "model_permaslug",
    "provider_name",
    "variant",
    "cancelled",
    "streamed",
    "user",
    "finish_reason_raw",
    "finish_reason_normalized",
    "generation_time_ms",
    "time_to_first_token_ms",
    "api_key_disabled",
    "api_key_name",
    "app_name",
)
_OPTIONAL_AMOUNTS = ("cost_web_search", "cost_cache", "cost_file_processing", "byok_usage_inference")
_OPTIONAL_COUNTS = ("tokens_cached", "generation_time_ms", "time_to_first_token_ms")
_FLAGS = ("cancelled", "streamed", "api_key_disabled")


def parse_generation_csv(content: bytes, *, file_name: str | None = None) -> ParsedBill:
    """Every line validated, or BillFormatError naming the file line and the column."""
    table = CsvRows(content)
    table.require(GENERATION_CSV_COLUMNS)
    lines = tuple(_line(row, line, number) for line, number, row in table.rows())
    return ParsedBill(
        kind=OPENROUTER_CSV,
        lines=lines,
        content_sha256=sha256_hex(content),
        file_name=file_name,
        source="openrouter",
        metadata={"columns": table.header, "rows": len(lines)},
    )


def _line(row: dict[str, str], line: int, number: int) -> BillLine:
    at = f.instant(row["created_at"], line, "created_at")
    for column in _OPTIONAL_AMOUNTS:
        f.money(row[column], line, column, required=False)
    for column in _OPTIONAL_COUNTS:
        f.count(row[column], line, column)
    for column in _FLAGS:
        f.flag(row[column], line, column)
    return BillLine(
        line_no=number,
        bill_date=at.date(),
        occurred_at=at,
        amount_usd=f.money(row["cost_total"], line, "cost_total"),
        generation_id=f.text(row["generation_id"], line, "generation_id", required=True),
        model=f.text(row["model_permaslug"], line, "model_permaslug", required=True),
        variant=f.text(row["variant"], line, "variant"),
        provider_name=f.text(row["provider_name"], line, "provider_name"),
        api_key_label=f.text(row["api_key_name"], line, "api_key_name"),
        prompt_tokens=f.count(row["tokens_prompt"], line, "tokens_prompt"),
        completion_tokens=f.count(row["tokens_completion"], line, "tokens_completion"),
        reasoning_tokens=f.count(row["tokens_reasoning"], line, "tokens_reasoning"),
        requests=1,
        raw={**row, "_file_line": line},
    )


def generation_csv(rows: Iterable[Mapping[str, Any]], *, extra_columns: tuple[str, ...] = ()) -> bytes:
    """Write an export: Decimals as exact digits, datetimes as ISO UTC, None as empty."""
    out = io.StringIO(newline="")
    columns = GENERATION_CSV_COLUMNS + tuple(extra_columns)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue().encode("utf-8")


def row_from_generation(
    data: Mapping[str, Any], *, permaslug: str, variant: str = "standard",
    api_key_name: str | None = None, app_name: str | None = None,
) -> dict[str, Any]:
    """The export row of one GET /generation ``data`` object (read with Decimal numbers)."""
    return {
        "generation_id": data["id"],
        "created_at": data["created_at"],
        "cost_total": data.get("total_cost"),
        "cost_web_search": Decimal(0),
        "cost_cache": data.get("cache_discount"),
        "cost_file_processing": Decimal(0),
        "byok_usage_inference": Decimal(0),
        "tokens_prompt": data.get("tokens_prompt"),
        "tokens_completion": data.get("tokens_completion"),
        "tokens_reasoning": data.get("native_tokens_reasoning"),
        "tokens_cached": data.get("native_tokens_cached"),
        "model_permaslug": permaslug,
        "provider_name": data.get("provider_name"),
        "variant": variant,
        "cancelled": data.get("cancelled"),
        "streamed": data.get("streamed"),
        "user": data.get("external_user"),
        "finish_reason_raw": data.get("native_finish_reason"),
        "finish_reason_normalized": data.get("finish_reason"),
        "generation_time_ms": data.get("generation_time"),
        "time_to_first_token_ms": data.get("latency"),
        "api_key_disabled": False,
        "api_key_name": api_key_name,
        "app_name": app_name,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_string(value)
    if isinstance(value, float):
        raise TypeError("floats are not written to a bill: pass a Decimal")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)
