"""Write a parsed bill: one bill_imports row and its bill_lines, whole or not at all.

``import_bill`` runs inside the caller's transaction (``with engine.begin() as conn``), so a
failure on any line leaves nothing behind. The file's sha256 is the idempotency key: a
second import of the same bytes writes nothing and returns the existing import (also when two
importers race: ON CONFLICT DO NOTHING, then read the winner's row).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Sequence

from sqlalchemy import Connection, Engine, text

from minerva_core.billing.lines import ParsedBill, json_bytes
from minerva_core.billing.parse import parse_bill

_LINE_COLUMNS = (
    "import_id", "line_no", "generation_id", "bill_date", "occurred_at", "model", "provider_name",
    "endpoint", "api_key_label", "amount_usd", "prompt_tokens", "completion_tokens",
    "reasoning_tokens", "requests", "raw",
)
_RETURNING = "id, kind, content_sha256, file_name, row_count, total_amount_usd, period_from, period_to"


@dataclass(frozen=True, slots=True)
class BillImport:
    id: uuid.UUID
    kind: str
    content_sha256: str
    file_name: str | None
    row_count: int
    total_amount_usd: Decimal | None
    period_from: date | None
    period_to: date | None
    #: False when the same bytes had been imported before (nothing was written).
    created: bool


def _row(row, created: bool) -> BillImport:
    return BillImport(
        id=row.id, kind=row.kind, content_sha256=row.content_sha256, file_name=row.file_name,
        row_count=row.row_count, total_amount_usd=row.total_amount_usd,
        period_from=row.period_from, period_to=row.period_to, created=created,
    )


def find_import(conn: Connection, content_sha256: str) -> BillImport | None:
    row = conn.execute(
        text(f"SELECT {_RETURNING} FROM bill_imports WHERE content_sha256 = :sha"), {"sha": content_sha256}
    ).first()
    return _row(row, False) if row else None


def import_bill(conn: Connection, bill: ParsedBill, *, imported_by: str | None = None) -> BillImport:
    existing = find_import(conn, bill.content_sha256)
    if existing is not None:
        return existing
    row = conn.execute(
        text(
            "INSERT INTO bill_imports (kind, source, file_name, content_sha256, period_from, period_to, "
            "row_count, total_amount_usd, imported_by, metadata) "
            "VALUES (:kind, :source, :file_name, :sha, :pf, :pt, :rows, :total, :by, CAST(:meta AS jsonb)) "
            f"ON CONFLICT (content_sha256) DO NOTHING RETURNING {_RETURNING}"
        ),
        {
            "kind": bill.kind, "source": bill.source, "file_name": bill.file_name,
            "sha": bill.content_sha256, "pf": bill.period_from, "pt": bill.period_to,
            "rows": len(bill.lines), "total": bill.total_amount_usd, "by": imported_by,
            "meta": json_bytes(dict(bill.metadata)).decode(),
        },
    ).first()
    if row is None:  # a concurrent import of the same bytes won
        winner = find_import(conn, bill.content_sha256)
        assert winner is not None
        return winner
    _copy_lines(conn, row.id, bill)
    return _row(row, True)


def _copy_lines(conn: Connection, import_id: uuid.UUID, bill: ParsedBill) -> None:
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY bill_lines ({', '.join(_LINE_COLUMNS)}) FROM STDIN") as copy:
        for line in bill.lines:
            copy.write_row((
                import_id, line.line_no, line.generation_id, line.bill_date, line.occurred_at,
                line.model, line.provider_name, line.endpoint, line.api_key_label, line.amount_usd,
                line.prompt_tokens, line.completion_tokens, line.reasoning_tokens, line.requests,
                json_bytes(_raw_with_variant(line)).decode(),
            ))


def _raw_with_variant(line) -> dict:
    raw = dict(line.raw)
    if line.variant is not None:
        raw.setdefault("variant", line.variant)
    return raw


def import_bill_bytes(engine: Engine, content: bytes, *, file_name: str | None = None,
                      kind: str | None = None, imported_by: str | None = None) -> BillImport:
    """Parse fully first (a bad line raises before any write), then write in one transaction."""
    bill = parse_bill(content, file_name=file_name, kind=kind)
    with engine.begin() as conn:
        return import_bill(conn, bill, imported_by=imported_by)


def import_bill_file(engine: Engine, path: str | Path, *, kind: str | None = None,
                     imported_by: str | None = None) -> BillImport:
    file = Path(path)
    return import_bill_bytes(engine, file.read_bytes(), file_name=file.name, kind=kind, imported_by=imported_by)


def import_many(engine: Engine, paths: Sequence[str | Path]) -> list[BillImport]:
    return [import_bill_file(engine, path) for path in paths]
