"""The model browser's query: the page's form fields -> minerva_core.catalog_queries, with
the same validation and the same views as GET models/discover (proxy.schemas.models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection
from starlette.datastructures import QueryParams

from minerva_core.catalog_queries import CAPABILITIES, SORT_KEYS, search_models
from minerva_core.errors import InvalidParameterError
from proxy.schemas.models import ModelView, build_filter, build_page, model_view

PAGE_SIZE = 25
FIELDS = ("q", "provider", "family", "modality", "capability", "min_context", "max_price", "status", "sort",
          "order", "page")
STATUS_CHOICES = ("active", "disabled", "deprecated", "all")


@dataclass
class Results:
    params: dict[str, list[str]]
    models: list[ModelView] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1
    error: str | None = None

    def one(self, name: str, default: str = "") -> str:
        values = self.params.get(name) or [default]
        return values[-1]

    def many(self, name: str) -> list[str]:
        return self.params.get(name, [])

    def title(self) -> str:
        if self.error:
            return "Models"
        found = f"{self.total} model{'' if self.total == 1 else 's'}"
        return f"{found} · page {self.page} of {self.pages}" if self.total else found

    def query(self, **changes: Any) -> str:
        """This search's query string with some fields changed (e.g. page=2)."""
        merged = {**self.params, **{k: [str(v)] for k, v in changes.items()}}
        return urlencode([(k, v) for k, vs in merged.items() for v in vs if v != ""])


def _positive(raw: str, name: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidParameterError(f"{name} must be a whole number of at least 1", param=name)
    return int(raw)


def search(conn: Connection, query: QueryParams) -> Results:
    params = {k: [v.strip() for v in query.getlist(k)] for k in FIELDS if k in query}
    results = Results(params)
    try:
        page = _positive(results.one("page", "1"), "page") or 1
        sort = results.one("sort", "id")
        order = results.one("order", "asc")
        if sort not in SORT_KEYS or order not in ("asc", "desc"):
            raise InvalidParameterError("unknown sort or order", param="sort")
        status = results.one("status", "active")
        capabilities = [c for c in results.many("capability") if c]
        if any(c not in CAPABILITIES for c in capabilities):
            raise InvalidParameterError(f"capability must be one of {', '.join(CAPABILITIES)}", param="capability")
        model_filter = build_filter(
            q=results.one("q") or None, provider=[p for p in results.many("provider") if p],
            family=[f for f in results.many("family") if f],
            modality=[m for m in results.many("modality") if m], capability=capabilities,
            min_context=_positive(results.one("min_context"), "min_context"),
            max_prompt_price=results.one("max_price") or None, max_completion_price=None,
            status=[status] if status in STATUS_CHOICES else ["active"], free_only=False,
        )
        request = build_page(sort=sort, order=order, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, cursor=None)
    except InvalidParameterError as exc:
        results.error = str(exc)
        return results
    found = search_models(conn, model_filter, request)
    results.models = [model_view(row) for row in found.rows]
    results.total = found.total
    results.page = page
    results.pages = max(1, -(-found.total // PAGE_SIZE))
    return results


def compare_data(model: ModelView) -> dict[str, Any]:
    """What the compare panel shows of a model (put on its row as JSON)."""
    price = model.pricing
    return {
        "id": model.id, "name": model.name, "provider": model.upstream_provider, "family": model.model_family,
        "context_length": model.context_length, "max_completion_tokens": model.max_completion_tokens,
        "prompt_per_million": price.prompt_per_million if price else None,
        "completion_per_million": price.completion_per_million if price else None,
        "variable_price": bool(price and price.is_variable),
        "capabilities": [k for k, v in model.capabilities.model_dump().items() if v],
        "input_modalities": model.input_modalities, "output_modalities": model.output_modalities,
        "quality_score": model.quality_score, "status": model.status,
    }


__all__ = ["PAGE_SIZE", "STATUS_CHOICES", "Results", "compare_data", "search"]
