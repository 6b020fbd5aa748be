"""The rows the proxy records: one usage_ledger row and one routing_decisions row per request."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class LedgerRow:
    request_id: str
    created_at: datetime
    status: str  # ok | error | cancelled | timeout | rate_limited
    generation_id: str | None = None
    api_key_id: str | None = None
    app: str | None = None
    strategy: str | None = None
    model_requested: str | None = None
    model_used: str | None = None
    provider_name: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    audio_tokens: int = 0
    image_count: int = 0
    web_search_count: int = 0
    cost_usd: Decimal | None = None
    cost_estimated_usd: Decimal | None = None
    cost_source: str | None = None
    is_byok: bool | None = None
    usage: dict[str, Any] | None = None
    latency_ms: int | None = None
    ttft_ms: int | None = None
    error_type: str | None = None
    http_status: int | None = None
    finish_reason: str | None = None
    fallback_depth: int = 0
    streamed: bool = False

    KIND = "l"


@dataclass(slots=True)
class DecisionRow:
    request_id: str
    created_at: datetime
    api_key_id: str | None = None
    strategy: str | None = None
    strategy_version: int | None = None
    model_requested: str | None = None
    selected_model: str | None = None
    selected_provider: str | None = None
    fallback_models: list[str] = field(default_factory=list)
    reasoning: dict[str, Any] = field(default_factory=dict)
    estimated_cost: Decimal | None = None
    estimated_latency_ms: int | None = None
    confidence_score: Decimal | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None  # ok | error | cancelled | no_candidate

    KIND = "d"


LEDGER_COLUMNS = tuple(f.name for f in fields(LedgerRow))
DECISION_COLUMNS = tuple(f.name for f in fields(DecisionRow))
_DECIMALS = {"cost_usd", "cost_estimated_usd", "estimated_cost", "confidence_score"}


def to_document(row: LedgerRow | DecisionRow) -> dict[str, Any]:
    doc = asdict(row)
    doc["t"] = row.KIND
    for name in _DECIMALS & doc.keys():
        if doc[name] is not None:
            doc[name] = str(doc[name])
    doc["created_at"] = row.created_at.isoformat()
    return doc


def from_document(doc: dict[str, Any]) -> LedgerRow | DecisionRow:
    kind = doc.pop("t")
    cls = LedgerRow if kind == LedgerRow.KIND else DecisionRow
    doc["created_at"] = datetime.fromisoformat(doc["created_at"])
    for name in _DECIMALS & doc.keys():
        if doc[name] is not None:
            doc[name] = Decimal(doc[name])
    return cls(**doc)
