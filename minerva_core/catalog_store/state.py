"""What is live now: the stored models (hash, status) and current model-level price hashes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from sqlalchemy import Connection, text


@dataclass(frozen=True)
class LiveCatalogState:
    models: pl.DataFrame  # id, metadata_hash, status
    price_hashes: dict[str, str]
    current_prices: dict[str, dict[str, Decimal | None]]  # model id -> prompt/completion

    @property
    def is_empty(self) -> bool:
        return self.models.height == 0


def load_live_state(conn: Connection) -> LiveCatalogState:
    rows = conn.execute(text("SELECT id, content_hash, status FROM ai_models")).all()
    models = pl.DataFrame(
        {
            "id": [r.id for r in rows],
            "metadata_hash": [r.content_hash for r in rows],
            "status": [r.status for r in rows],
        },
        schema={"id": pl.String, "metadata_hash": pl.String, "status": pl.String},
    )
    price_rows = conn.execute(
        text(
            "SELECT model_id, content_hash, prompt, completion FROM ai_model_prices "
            "WHERE valid_to IS NULL AND source = 'models'"
        )
    ).all()
    return LiveCatalogState(
        models=models,
        price_hashes={r.model_id: r.content_hash for r in price_rows},
        current_prices={r.model_id: {"prompt": r.prompt, "completion": r.completion} for r in price_rows},
    )
