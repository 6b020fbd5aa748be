"""The model browser: search, filter, sort and page the live catalog (SQLAlchemy Core).

Reads ``ai_models`` joined with each model's *current model-level* price
(``ai_model_prices`` with ``source = 'models' AND valid_to IS NULL``). Statements are built
by pure functions from a ``ModelFilter`` and a ``PageRequest``; ``search_models`` runs them.

Semantics, in one place:

* ``q``: whitespace-separated terms; every term must occur (case-insensitive, ``%``/``_``
  taken literally) in the id, the name or the description.
* ``providers``, ``families``, ``statuses``: any of the values. An empty ``statuses`` means
  every status.
* ``modalities``, ``capabilities``: all of the values. A modality matches an input *or* an
  output modality.
* ``max_prompt_price`` / ``max_completion_price``: USD **per token** (convert with
  ``per_million_to_per_token``); a variable-price model (price unknown) never matches.
* ``free_only``: every price dimension of the current price is zero, it is not variable and
  has no price overrides.
* Order: the sort key, NULLs last in both directions, then ``id`` ascending (for ``sort=id``
  the id alone, in the requested direction). Text compares bytewise (``COLLATE "C"``), so
  the order does not depend on the server's locale.
* Keyset paging (``catalog_paging``): a ``Cursor`` holds the last row's sort value and id;
  it is only valid with the sort and order it was made for.

At catalog size (hundreds of rows) ILIKE over a sequential scan takes well under a
millisecond, so no trigram index is needed (and pg_trgm is not in the embedded server).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    Text,
    and_,
    column,
    func,
    literal,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from minerva_core.catalog_paging import MAX_LIMIT, SORT_KEYS, Cursor, PageRequest

CAPABILITIES = ("tools", "structured_output", "reasoning", "vision", "audio")
STATUSES = ("active", "deprecated", "disabled")
PRICE_DIMENSIONS = (
    "prompt", "completion", "request", "image", "image_output", "image_token", "web_search",
    "internal_reasoning", "input_cache_read", "input_cache_write", "input_cache_write_1h",
    "input_audio_cache", "audio", "audio_output",
)
_MILLION = Decimal(1_000_000)

models = table(
    "ai_models",
    column("id", Text), column("canonical_slug", Text), column("name", Text),
    column("upstream_provider", Text), column("model_family", Text), column("description", Text),
    column("context_length", Integer), column("max_completion_tokens", Integer),
    column("modality", Text), column("input_modalities", ARRAY(Text)),
    column("output_modalities", ARRAY(Text)), column("supported_parameters", ARRAY(Text)),
    column("supports_tools", Boolean), column("supports_tool_choice", Boolean),
    column("supports_structured_output", Boolean), column("supports_reasoning", Boolean),
    column("supports_vision", Boolean), column("supports_audio_input", Boolean),
    column("variant", Text), column("base_model_id", Text), column("alias_target", Text),
    column("is_variable_price", Boolean), column("quality_score", Numeric),
    column("knowledge_cutoff", Date), column("expiration_date", Date),
    column("upstream_created_at", DateTime(timezone=True)), column("status", Text),
    column("disabled_by_admin", Boolean), column("disabled_at", DateTime(timezone=True)),
    column("disabled_reason", Text), column("deprecated_at", DateTime(timezone=True)),
    column("first_seen_at", DateTime(timezone=True)), column("last_seen_at", DateTime(timezone=True)),
)
price_rows = table(
    "ai_model_prices",
    column("model_id", Text), column("source", Text), column("valid_from", DateTime(timezone=True)),
    column("valid_to", DateTime(timezone=True)), column("discount", Numeric),
    column("overrides", JSONB), column("is_variable", Boolean),
    *(column(name, Numeric) for name in PRICE_DIMENSIONS),
)

# The current model-level price of each model, looked up per model through the
# (model_id, ...) indexes: a LATERAL join stays a few milliseconds even when the planner's
# statistics are stale (right after the first sync a plain join was planned as a 300k-row
# nested loop).
prices = (
    select(price_rows)
    .where(price_rows.c.model_id == models.c.id, price_rows.c.source == "models",
           price_rows.c.valid_to.is_(None))
    .limit(1)
    .lateral("current_price")
)
_FROM = models.outerjoin(prices, true())

_CAPABILITY_COLUMNS = {
    "tools": models.c.supports_tools,
    "structured_output": models.c.supports_structured_output,
    "reasoning": models.c.supports_reasoning,
    "vision": models.c.supports_vision,
    "audio": models.c.supports_audio_input,
}
_SORT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": models.c.id.collate("C"),
    "name": models.c.name.collate("C"),
    "context_length": models.c.context_length,
    "prompt_price": prices.c.prompt,
    "completion_price": prices.c.completion,
    "quality": models.c.quality_score,
    "created": models.c.upstream_created_at,
}
_ID = models.c.id.collate("C")


@dataclass(frozen=True)
class ModelFilter:
    q: str | None = None
    providers: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    min_context: int | None = None
    max_prompt_price: Decimal | None = None  # USD per token
    max_completion_price: Decimal | None = None  # USD per token
    statuses: tuple[str, ...] = ("active",)
    free_only: bool = False


@dataclass(frozen=True)
class ModelSearchResult:
    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    next_offset: int | None


def per_million_to_per_token(value: Decimal) -> Decimal:
    """USD per million tokens -> USD per token, exactly."""
    return value / _MILLION


def per_token_to_per_million(value: Decimal) -> Decimal:
    return (value * _MILLION).normalize()


def filter_clauses(f: ModelFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    for term in (f.q or "").split():
        pattern = "%" + _escape_like(term) + "%"
        clauses.append(
            or_(
                models.c.id.ilike(pattern, escape="\\"),
                models.c.name.ilike(pattern, escape="\\"),
                models.c.description.ilike(pattern, escape="\\"),
            )
        )
    if f.providers:
        clauses.append(models.c.upstream_provider.in_(f.providers))
    if f.families:
        clauses.append(models.c.model_family.in_(f.families))
    for modality in f.modalities:
        clauses.append(
            or_(models.c.input_modalities.contains([modality]), models.c.output_modalities.contains([modality]))
        )
    for capability in f.capabilities:
        clauses.append(_CAPABILITY_COLUMNS[capability].is_(True))
    if f.min_context is not None:
        clauses.append(models.c.context_length >= f.min_context)
    if f.max_prompt_price is not None:
        clauses.append(prices.c.prompt <= f.max_prompt_price)
    if f.max_completion_price is not None:
        clauses.append(prices.c.completion <= f.max_completion_price)
    if f.statuses:
        clauses.append(models.c.status.in_(f.statuses))
    if f.free_only:
        clauses.append(
            and_(
                prices.c.is_variable.is_(False),
                *(func.coalesce(prices.c[name], 0) == 0 for name in PRICE_DIMENSIONS),
                or_(prices.c.overrides.is_(None), func.jsonb_array_length(prices.c.overrides) == 0),
            )
        )
    return clauses


def order_by(page: PageRequest) -> list[ColumnElement[Any]]:
    if page.sort == "id":
        return [_ID.desc() if page.descending else _ID.asc()]
    key = _SORT_COLUMNS[page.sort]
    return [key.is_(None), key.desc() if page.descending else key.asc(), _ID.asc()]


def after_cursor(cursor: Cursor) -> ColumnElement[bool]:
    """Rows that come after the cursor's row in its order (the keyset predicate)."""
    if cursor.sort == "id":
        return _ID < cursor.last_id if cursor.descending else _ID > cursor.last_id
    key = _SORT_COLUMNS[cursor.sort]
    if cursor.value is None:
        return and_(key.is_(None), _ID > cursor.last_id)
    value = literal(cursor.value, key.type)
    beyond = key < value if cursor.descending else key > value
    return or_(key.is_(None), beyond, and_(key == value, _ID > cursor.last_id))


def page_statement(f: ModelFilter, page: PageRequest) -> Select:
    clauses = filter_clauses(f)
    if page.cursor is not None:
        clauses.append(after_cursor(page.cursor))
    stmt = select(*_SELECTED).select_from(_FROM).where(*clauses).order_by(*order_by(page))
    # One row more than asked tells whether there is a next page.
    return stmt.offset(page.offset).limit(page.limit + 1)


def count_statement(f: ModelFilter) -> Select:
    uses_prices = f.max_prompt_price is not None or f.max_completion_price is not None or f.free_only
    return select(func.count()).select_from(_FROM if uses_prices else models).where(*filter_clauses(f))


def search_models(conn: Connection, f: ModelFilter, page: PageRequest) -> ModelSearchResult:
    """One page and the total. On a connection with no open transaction both are read from
    one REPEATABLE READ snapshot, so a sync committing in between cannot make them disagree."""
    if not conn.in_transaction():
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    total = conn.execute(count_statement(f)).scalar_one()
    rows = [dict(row._mapping) for row in conn.execute(page_statement(f, page))]
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = Cursor(page.sort, page.descending, _sort_value(page.sort, last), last["id"]).encode()
    next_offset = page.offset + len(rows) if more and page.cursor is None else None
    return ModelSearchResult(rows, total, next_cursor, next_offset)


_SELECTED = (
    *models.c,
    prices.c.valid_from.label("price_valid_from"),
    prices.c.is_variable.label("price_is_variable"),
    prices.c.discount.label("price_discount"),
    prices.c.overrides.label("price_overrides"),
    *(prices.c[name].label(f"price_{name}") for name in PRICE_DIMENSIONS),
)
_SORT_ROW_KEYS = {
    "id": "id", "name": "name", "context_length": "context_length", "prompt_price": "price_prompt",
    "completion_price": "price_completion", "quality": "quality_score", "created": "upstream_created_at",
}


def _sort_value(sort: str, row: dict[str, Any]) -> Any:
    return row[_SORT_ROW_KEYS[sort]]


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


__all__ = [
    "CAPABILITIES",
    "MAX_LIMIT",
    "PRICE_DIMENSIONS",
    "SORT_KEYS",
    "STATUSES",
    "Cursor",
    "ModelFilter",
    "ModelSearchResult",
    "PageRequest",
    "count_statement",
    "page_statement",
    "per_million_to_per_token",
    "per_token_to_per_million",
    "search_models",
]
