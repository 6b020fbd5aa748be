"""Writing the rows other parts of Minerva own (api keys, catalog, prices, ledger) directly,
as those parts would, so reconciliation can be tested on its own."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import Connection, text


def api_key(conn: Connection, name: str) -> uuid.UUID:
    digest = hashlib.sha256(name.encode()).hexdigest()
    row = conn.execute(
        text(
            "INSERT INTO api_keys (name, key_hash, key_prefix) VALUES (:name, :hash, :prefix) "
            "ON CONFLICT (key_hash) DO UPDATE SET name = EXCLUDED.name RETURNING id"
        ),
        {"name": name, "hash": digest, "prefix": "mk-" + digest[:6]},
    ).one()
    return row.id


def models(conn: Connection, records: Iterable[Mapping[str, Any]]) -> None:
    """ai_models rows: id, canonical_slug, variant from the id's ':' suffix."""
    for record in records:
        model_id = record["id"]
        base, _, variant = model_id.partition(":")
        conn.execute(
            text(
                "INSERT INTO ai_models (id, canonical_slug, name, upstream_provider, variant, base_model_id) "
                "VALUES (:id, :slug, :name, :author, :variant, :base) ON CONFLICT (id) DO UPDATE "
                "SET canonical_slug = EXCLUDED.canonical_slug, variant = EXCLUDED.variant"
            ),
            {
                "id": model_id, "slug": record.get("canonical_slug"), "name": record.get("name") or model_id,
                "author": model_id.split("/")[0].lstrip("~"), "variant": variant or None, "base": base,
            },
        )


def price(conn: Connection, model_id: str, prompt: Decimal, completion: Decimal,
          valid_from: datetime | None = None) -> None:
    conn.execute(
        text(
            "INSERT INTO ai_model_prices (model_id, valid_from, prompt, completion, content_hash) "
            "VALUES (:model, :since, :prompt, :completion, :hash)"
        ),
        {
            "model": model_id, "since": valid_from or datetime.now(timezone.utc) - timedelta(days=3),
            "prompt": prompt, "completion": completion, "hash": f"{model_id}:{prompt}:{completion}",
        },
    )


_LEDGER_COLUMNS = (
    "request_id", "created_at", "generation_id", "api_key_id", "model_requested", "model_used",
    "provider_name", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd",
    "cost_estimated_usd", "cost_source", "status",
)


def ledger(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """usage_ledger rows (as the proxy writes them); cost_source follows cost_usd."""
    prepared = []
    for row in rows:
        values = {c: row.get(c) for c in _LEDGER_COLUMNS}
        values["request_id"] = values["request_id"] or f"req-{uuid.uuid4().hex}"
        values["model_requested"] = values["model_requested"] or values["model_used"]
        values["status"] = values["status"] or "ok"
        for count in ("prompt_tokens", "completion_tokens", "reasoning_tokens"):
            values[count] = values[count] or 0
        values["cost_source"] = "response" if values["cost_usd"] is not None else None
        prepared.append(values)
    if prepared:
        conn.execute(
            text(
                f"INSERT INTO usage_ledger ({', '.join(_LEDGER_COLUMNS)}) VALUES "
                f"({', '.join(':' + c for c in _LEDGER_COLUMNS)})"
            ),
            prepared,
        )
    return len(prepared)
