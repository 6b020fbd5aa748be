"""GET /models and /models/count: filters, limit/offset paging, bytes cached per query.

Like the real API, the default answer holds only text-output models; `output_modalities=all`
(or a comma list such as `image,text`) widens it. When neither `limit` nor `offset` is given
the whole list is returned; otherwise a page with `links.next` pointing at the next page.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlencode

from minerva_core.emulator.catalog import Catalog, CatalogModel
from minerva_core.emulator.jsonbody import dumps

MAX_LIMIT = 1000
DEFAULT_LIMIT = 500
MODELS_PATH = "/api/v1/models"
_CACHE_SIZE = 256


class QueryError(ValueError):
    """A query parameter OpenRouter would reject with 400."""


@dataclass(frozen=True, slots=True)
class ModelQuery:
    output_modalities: tuple[str, ...] = ("text",)  # () means all
    input_modalities: tuple[str, ...] = ()
    supported_parameters: tuple[str, ...] = ()
    text: str = ""
    min_context: int | None = None
    offset: int | None = None
    limit: int | None = None

    @property
    def paged(self) -> bool:
        return self.offset is not None or self.limit is not None

    def filter_key(self) -> tuple:
        return (self.output_modalities, self.input_modalities, self.supported_parameters,
                self.text, self.min_context)

    def matches(self, model: CatalogModel) -> bool:
        raw = model.raw
        arch = raw.get("architecture") or {}
        if self.output_modalities and not set(self.output_modalities) & set(model.output_modalities):
            return False
        if self.input_modalities and not set(self.input_modalities) <= set(arch.get("input_modalities") or ()):
            return False
        supported = set(raw.get("supported_parameters") or ())
        if self.supported_parameters and not set(self.supported_parameters) <= supported:
            return False
        if self.text and self.text not in f"{raw['id']} {raw.get('name', '')}".lower():
            return False
        if self.min_context is not None and (raw.get("context_length") or 0) < self.min_context:
            return False
        return True

    def next_link(self, offset: int, limit: int) -> str:
        params: list[tuple[str, str]] = []
        if self.output_modalities != ("text",):
            params.append(("output_modalities", ",".join(self.output_modalities) or "all"))
        for name, values in (("input_modalities", self.input_modalities),
                             ("supported_parameters", self.supported_parameters)):
            if values:
                params.append((name, ",".join(values)))
        if self.text:
            params.append(("q", self.text))
        if self.min_context is not None:
            params.append(("context", str(self.min_context)))
        params += [("offset", str(offset)), ("limit", str(limit))]
        return f"{MODELS_PATH}?{urlencode(params)}"


def parse_query(params: Mapping[str, str]) -> ModelQuery:
    outputs = _csv(params.get("output_modalities")) or ("text",)
    if "all" in outputs:
        outputs = ()
    return ModelQuery(
        output_modalities=outputs,
        input_modalities=_csv(params.get("input_modalities")),
        supported_parameters=_csv(params.get("supported_parameters")),
        text=(params.get("q") or "").strip().lower(),
        min_context=_int(params, "context", minimum=1),
        offset=_int(params, "offset", minimum=0),
        limit=_int(params, "limit", minimum=1, maximum=MAX_LIMIT),
    )


class Listing:
    """Serialised /models answers; the two common ones are built at start-up."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._matches: dict[tuple, list[dict]] = {}
        self._pages: OrderedDict[ModelQuery, bytes] = OrderedDict()
        for query in (ModelQuery(), ModelQuery(output_modalities=())):
            self.page(query)

    def matching(self, query: ModelQuery) -> list[dict]:
        key = query.filter_key()
        rows = self._matches.get(key)
        if rows is None:
            rows = [m.raw for m in self._catalog.models if query.matches(m)]
            if len(self._matches) >= _CACHE_SIZE:
                self._matches.pop(next(iter(self._matches)))
            self._matches[key] = rows
        return rows

    def count(self, query: ModelQuery) -> int:
        return len(self.matching(query))

    def page(self, query: ModelQuery) -> bytes:
        cached = self._pages.get(query)
        if cached is not None:
            self._pages.move_to_end(query)
            return cached
        rows = self.matching(query)
        next_link = None
        if query.paged:
            offset = query.offset or 0
            limit = query.limit or DEFAULT_LIMIT
            page_rows = rows[offset : offset + limit]
            if offset + limit < len(rows):
                next_link = query.next_link(offset + limit, limit)
        else:
            page_rows = rows
        body = dumps({"data": page_rows, "total_count": len(rows), "links": {"next": next_link}})
        self._pages[query] = body
        if len(self._pages) > _CACHE_SIZE:
            self._pages.popitem(last=False)
        return body


def _csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(sorted({part.strip().lower() for part in value.split(",") if part.strip()}))


def _int(params: Mapping[str, str], name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise QueryError(f"{name} must be an integer") from None
    if number < minimum or (maximum is not None and number > maximum):
        bound = f" and <= {maximum}" if maximum is not None else ""
        raise QueryError(f"{name} must be >= {minimum}{bound}")
    return number
