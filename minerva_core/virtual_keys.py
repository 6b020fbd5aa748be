"""Virtual API keys: generated once, shown once, stored as a SHA-256 hash only.

A key is `mk-` plus 32 random bytes (base64url): with 256 bits of entropy a fast hash is the
right tool (no dictionary to guard against, and the proxy checks it on every request);
slow password hashes like bcrypt are for low-entropy secrets. The first characters are kept
as `key_prefix` so an admin can tell keys apart.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from sqlalchemy import Connection, text

PREFIX = "mk-"


def generate_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def looks_like_virtual_key(value: str) -> bool:
    return value.startswith(PREFIX) and len(value) > len(PREFIX) + 20


@dataclass(frozen=True)
class CreatedKey:
    id: uuid.UUID
    name: str
    key: str  # the only time the plaintext exists
    key_prefix: str

    def __repr__(self) -> str:
        return f"CreatedKey(id={self.id}, name={self.name!r}, key_prefix={self.key_prefix!r})"


def create_key(
    conn: Connection,
    *,
    name: str,
    rpm_limit: int | None = None,
    tpm_limit: int | None = None,
    budget_usd: Decimal | None = None,
    budget_period: str | None = None,
    allowed_models: Sequence[str] | None = None,
    default_strategy: str | None = None,
    queue_when_limited: bool = False,
    max_queue_wait_ms: int = 30000,
    app: str | None = None,
    created_by: str | None = None,
) -> CreatedKey:
    if (budget_usd is None) != (budget_period is None):
        if budget_usd is not None and budget_period is None:
            budget_period = "month"
        else:
            raise ValueError("a budget period needs a budget amount")
    key = generate_key()
    key_id = conn.execute(
        text(
            """
            INSERT INTO api_keys (name, key_hash, key_prefix, allowed_models, default_strategy,
                rpm_limit, tpm_limit, budget_usd, budget_period, queue_when_limited,
                max_queue_wait_ms, app, created_by)
            VALUES (:name, :hash, :prefix, :allowed, :strategy, :rpm, :tpm, :budget, :period,
                :queue, :wait, :app, :by)
            RETURNING id
            """
        ),
        {
            "name": name, "hash": hash_key(key), "prefix": key[:10],
            "allowed": list(allowed_models) if allowed_models else None,
            "strategy": default_strategy, "rpm": rpm_limit, "tpm": tpm_limit,
            "budget": budget_usd, "period": budget_period, "queue": queue_when_limited,
            # "" and NULL both mean "no app" (the usage views group them together).
            "wait": max_queue_wait_ms, "app": (app or "").strip() or None, "by": created_by,
        },
    ).scalar_one()
    return CreatedKey(key_id, name, key, key[:10])


def revoke_key(conn: Connection, key_id: uuid.UUID | str) -> bool:
    return bool(
        conn.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL"),
            {"id": key_id},
        ).rowcount
    )
