"""The model catalog the emulator serves: a real /models snapshot, loaded once and indexed."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from minerva_core.emulator.config import DATA_DIR
from minerva_core.errors import ConfigError, PricingError
from minerva_core.pricing import Pricing, parse_pricing

ROUTER_TOKENIZER = "Router"


def resolve_snapshot(path: Path) -> Path:
    """`path` itself, or a file of that name shipped in the package's data directory."""
    if path.exists():
        return path
    shipped = DATA_DIR / path.name
    if shipped.exists():
        return shipped
    raise ConfigError(f"snapshot {str(path)!r} does not exist")


def load_snapshot(path: Path) -> list[dict[str, Any]]:
    """The models of a snapshot file: `{"data": [...]}` or a bare array; .gz is unpacked."""
    raw = resolve_snapshot(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"snapshot {path} is not JSON: {exc}") from None
    models = document.get("data") if isinstance(document, dict) else document
    if not isinstance(models, list) or not all(isinstance(m, dict) and "id" in m for m in models):
        raise ConfigError(f"snapshot {path} holds no list of models")
    return models


def fill_required(model: dict[str, Any]) -> dict[str, Any]:
    """A copy with the keys today's spec requires that older snapshots lack."""
    filled = dict(model)
    filled.setdefault("canonical_slug", model["id"])
    filled.setdefault("default_parameters", None)
    filled.setdefault("supported_voices", None)
    filled.setdefault("links", {"details": f"/api/v1/models/{filled['canonical_slug']}/endpoints"})
    return filled


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One model as served, plus what the emulator derives from it."""

    raw: dict[str, Any]
    pricing: Pricing | None  # None when the snapshot's pricing cannot be read

    @property
    def id(self) -> str:
        return self.raw["id"]

    @property
    def permaslug(self) -> str:
        return self.raw.get("canonical_slug") or self.raw["id"]

    @property
    def output_modalities(self) -> list[str]:
        return (self.raw.get("architecture") or {}).get("output_modalities") or ["text"]

    @property
    def is_text_output(self) -> bool:
        return "text" in self.output_modalities

    @property
    def is_router(self) -> bool:
        arch = self.raw.get("architecture") or {}
        return arch.get("tokenizer") == ROUTER_TOKENIZER or self.id.startswith("openrouter/auto")

    @property
    def is_variable(self) -> bool:
        return self.pricing is not None and self.pricing.is_variable

    @property
    def context_length(self) -> int | None:
        top = (self.raw.get("top_provider") or {}).get("context_length")
        return top or self.raw.get("context_length")

    @property
    def max_completion_tokens(self) -> int | None:
        return (self.raw.get("top_provider") or {}).get("max_completion_tokens")


class Catalog:
    """Models in snapshot order, with lookups by id and by canonical slug."""

    def __init__(self, models: list[dict[str, Any]], *, complete: bool = False) -> None:
        rows = [fill_required(m) if complete else m for m in models]
        self.models: list[CatalogModel] = [CatalogModel(m, _pricing_or_none(m)) for m in rows]
        self._by_id = {m.id: m for m in self.models}
        self._by_slug: dict[str, CatalogModel] = {}
        for model in self.models:  # the plain id wins over :free / :batch variants
            slug = model.permaslug
            current = self._by_slug.get(slug)
            if current is None or (":" in current.id and ":" not in model.id):
                self._by_slug[slug] = model

    @classmethod
    def from_file(cls, path: Path, *, complete: bool = False) -> Catalog:
        return cls(load_snapshot(path), complete=complete)

    def __len__(self) -> int:
        return len(self.models)

    def get(self, model_id: str) -> CatalogModel | None:
        return self._by_id.get(model_id)

    def lookup(self, path_id: str) -> CatalogModel | None:
        """A model by id, or by the canonical slug its `links.details` uses."""
        return self._by_id.get(path_id) or self._by_slug.get(path_id)

    def billable_text_models(self, *, free: bool) -> list[CatalogModel]:
        """Concrete text models a router may pick: free ones, or priced ones."""
        picks = []
        for model in self.models:
            if model.is_router or not model.is_text_output or model.pricing is None:
                continue
            if model.is_variable:
                continue
            is_free = model.pricing.prompt == 0 and model.pricing.completion == 0
            if is_free == free:
                picks.append(model)
        return picks


def _pricing_or_none(model: dict[str, Any]) -> Pricing | None:
    try:
        return parse_pricing(model.get("pricing") or {})
    except PricingError:
        return None
