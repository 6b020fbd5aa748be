"""Reading what the savings analysis needs from PostgreSQL, and ``find_savings``.

Two queries: the period's ok ledger rows summed per (app, model_used) (the app is the ledger
row's, else its key's), and the live catalog with its current model-level prices (the
``raw`` pricing object, so every billing dimension and override is priced exactly).

The groups come from one of two sources, with the same figures for the same rows:

    source="ledger"  the raw usage_ledger, any [from, to) to the microsecond, as of now
                     (reconciliation, the optimisation CLI); reads every row of the period
    source="rollup"  mv_savings_daily (per UTC day x key x app x model), whole UTC days only,
                     as of the last refresh; what the analytics API reads (milliseconds at
                     10 M ledger rows, where the ledger takes seconds)

A ``CatalogCache`` keeps the parsed catalog and its candidate pools while the catalog's
change counters (catalog_versions) stay the same, so repeated reports skip both.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from minerva_core.errors import MinervaError, OptimisationInputError, SavingsNotReadyError
from minerva_core.optimisation.analysis import analyse_savings
from minerva_core.optimisation.cache import CatalogCache
from minerva_core.optimisation.report import UNATTRIBUTED, SavingsPolicy, SavingsReport, UsageGroup
from minerva_core.pricing import Pricing, parse_pricing
from minerva_core.routing import Catalog, model_from_record

_SUMMED = ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens",
           "cache_write_tokens", "audio_tokens", "image_count", "web_search_count")
_GROUPS_SQL = text(
    f"""
    SELECT coalesce(l.app, k.app) AS app, l.model_used,
           count(*) FILTER (WHERE l.cost_usd IS NOT NULL) AS requests,
           count(*) FILTER (WHERE l.cost_usd IS NULL) AS uncharged_requests,
           coalesce(sum(l.cost_usd), 0) AS actual_usd,
           {", ".join(f"coalesce(sum(l.{c}) FILTER (WHERE l.cost_usd IS NOT NULL), 0) AS {c}" for c in _SUMMED)},
           coalesce(max(l.prompt_tokens + l.completion_tokens), 0) AS max_context_tokens,
           coalesce(max(l.prompt_tokens), 0) AS max_prompt_tokens,
           coalesce(max(l.completion_tokens), 0) AS max_completion_tokens
      FROM usage_ledger l
      LEFT JOIN api_keys k ON k.id = l.api_key_id
     WHERE l.status = 'ok' AND l.model_used IS NOT NULL
       AND l.created_at >= :period_from AND l.created_at < :period_to
     GROUP BY 1, 2
     ORDER BY 1, 2
    """
)
# The same groups from the daily rollup: sums of sums and counts, max of maxima. The app is
# the ledger's own (app_is_null tells NULL from ''), else the key's as it is now. The days
# are summed per key first, so the join to api_keys meets a few hundred rows, not every day's.
_ROLLUP_COUNTS = ("requests", "uncharged_requests", *_SUMMED)
_ROLLUP_MAXIMA = ("max_context_tokens", "max_prompt_tokens", "max_completion_tokens")
_ROLLUP_GROUPS_SQL = text(
    f"""
    SELECT coalesce(CASE WHEN s.app_is_null THEN NULL ELSE s.app END, k.app) AS app, s.model_used,
           {", ".join(f"sum(s.{c}) AS {c}" for c in _ROLLUP_COUNTS)},
           coalesce(sum(s.actual_usd), 0) AS actual_usd,
           {", ".join(f"max(s.{c}) AS {c}" for c in _ROLLUP_MAXIMA)}
      FROM (SELECT api_key_id, app, app_is_null, model_used,
                   {", ".join(f"sum({c}) AS {c}" for c in _ROLLUP_COUNTS)},
                   sum(actual_usd) AS actual_usd,
                   {", ".join(f"max({c}) AS {c}" for c in _ROLLUP_MAXIMA)}
              FROM mv_savings_daily
             WHERE day >= :first_day AND day < :end_day
             GROUP BY api_key_id, app, app_is_null, model_used) s
      LEFT JOIN api_keys k ON k.id = s.api_key_id
     GROUP BY 1, 2
     ORDER BY 1, 2
    """
)
_NOT_POPULATED = "55000"  # object_not_in_prerequisite_state: a materialized view never refreshed
SOURCES = ("ledger", "rollup")
_CATALOG_SQL = text(
    """
    SELECT m.id, m.canonical_slug, m.upstream_provider, m.model_family, m.context_length,
           m.max_completion_tokens, m.input_modalities, m.output_modalities,
           m.supported_parameters, m.supports_tools, m.supports_structured_output,
           m.supports_reasoning, m.is_variable_price, m.quality_score, m.status,
           m.expiration_date, p.prompt, p.completion, p.request, p.raw AS pricing_raw,
           p.is_variable AS price_is_variable
      FROM ai_models m
      LEFT JOIN ai_model_prices p
        ON p.model_id = m.id AND p.valid_to IS NULL AND p.source = 'models'
     ORDER BY m.id
    """
)


def period_bounds(period_from: date | datetime, period_to: date | datetime) -> tuple[datetime, datetime]:
    """[from, to) as aware datetimes. Datetimes are taken as given (half-open); dates are
    whole UTC days, both included (2026-11-01 .. 2026-11-30 is November)."""

    def instant(value: date | datetime, end: bool) -> datetime:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise OptimisationInputError(f"{value.isoformat()} has no time zone; give UTC")
            return value
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time(0), tzinfo=timezone.utc)

    start, stop = instant(period_from, False), instant(period_to, True)
    if stop <= start:
        raise OptimisationInputError(f"empty period: {period_from} .. {period_to}")
    return start, stop


def whole_days(period_from: datetime, period_to: datetime) -> tuple[date, date]:
    """[first day, end day) of a period that starts and ends at UTC midnights; otherwise
    OptimisationInputError (the rollup cannot split a day)."""
    days = []
    for instant in (period_from, period_to):
        utc = instant.astimezone(timezone.utc)
        if utc.time() != time(0):
            raise OptimisationInputError(
                f"{instant.isoformat()} is not a UTC midnight: the daily rollup holds whole UTC days "
                "(use source='ledger' for other periods)")
        days.append(utc.date())
    return days[0], days[1]


def load_groups(conn: Connection, period_from: datetime, period_to: datetime) -> list[UsageGroup]:
    """The period's groups from the raw ledger."""
    return _groups(conn.execute(_GROUPS_SQL, {"period_from": period_from, "period_to": period_to}).all())


def load_rollup_groups(conn: Connection, period_from: datetime, period_to: datetime) -> list[UsageGroup]:
    """The period's groups from mv_savings_daily: the same as ``load_groups`` over the rows
    the last refresh saw. Whole UTC days only; SavingsNotReadyError before the first refresh."""
    first_day, end_day = whole_days(period_from, period_to)
    try:
        rows = conn.execute(_ROLLUP_GROUPS_SQL, {"first_day": first_day, "end_day": end_day}).all()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _NOT_POPULATED:
            raise
        conn.rollback()
        raise SavingsNotReadyError(
            "the savings rollup (mv_savings_daily) has not been refreshed yet: the refresh flow "
            "populates it (`minerva flow run refresh`)") from None
    return _groups(rows)


def _groups(rows: Iterable[Any]) -> list[UsageGroup]:
    return [
        UsageGroup(
            app=r.app or UNATTRIBUTED, model_used=r.model_used, requests=int(r.requests),
            actual_usd=Decimal(r.actual_usd), uncharged_requests=int(r.uncharged_requests),
            max_context_tokens=int(r.max_context_tokens), max_prompt_tokens=int(r.max_prompt_tokens),
            max_completion_tokens=int(r.max_completion_tokens),
            **{c: int(getattr(r, c)) for c in _SUMMED},
        )
        for r in rows
    ]


def catalog_from_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[Catalog, dict[str, Pricing]]:
    """The routing catalog and each model's current ``Pricing`` from catalog rows. Pure.
    A row that cannot be read is left out (its model then has no candidates and is no
    candidate); a variable or unreadable price leaves the model unpriced."""
    models, prices = [], {}
    for index, row in enumerate(rows):
        variable = bool(row.get("is_variable_price") or row.get("price_is_variable"))
        record = {
            **{k: row.get(k) for k in ("id", "canonical_slug", "upstream_provider", "model_family",
                                        "context_length", "max_completion_tokens", "supports_tools",
                                        "supports_structured_output", "supports_reasoning",
                                        "status", "expiration_date")},
            "input_modalities": tuple(row.get("input_modalities") or ()) or ("text",),
            "output_modalities": tuple(row.get("output_modalities") or ()) or ("text",),
            "supported_parameters": tuple(row.get("supported_parameters") or ()),
            "prompt_price": None if variable else row.get("prompt"),
            "completion_price": None if variable else row.get("completion"),
            "request_price": None if variable else row.get("request"),
            "is_variable_price": variable,
            "quality_score": row.get("quality_score"),
        }
        try:
            models.append(model_from_record(record, index))
        except MinervaError:
            continue
        raw = row.get("pricing_raw") or {}
        if not variable and raw.get("prompt") is not None and raw.get("completion") is not None:
            try:
                prices[row["id"]] = parse_pricing(raw)
            except MinervaError:
                pass
    return Catalog(models), prices


def load_catalog(conn: Connection) -> tuple[Catalog, dict[str, Pricing]]:
    return catalog_from_rows(dict(r._mapping) for r in conn.execute(_CATALOG_SQL))


_CATALOG_VERSION_SQL = text(
    "SELECT coalesce(array_agg(version ORDER BY table_name), '{}') FROM catalog_versions "
    "WHERE table_name IN ('ai_models', 'ai_model_prices')"
)


def catalog_version(conn: Connection) -> tuple[int, ...]:
    """The change counters of the tables the catalog is read from (bumped by every write)."""
    return tuple(conn.execute(_CATALOG_VERSION_SQL).scalar_one())


def find_savings(
    conn: Connection,
    period_from: date | datetime,
    period_to: date | datetime,
    *,
    min_saving_usd: Decimal = Decimal("0"),
    limit: int | None = 100,
    policy: SavingsPolicy = SavingsPolicy(),
    today: date | None = None,
    source: str = "ledger",
    cache: CatalogCache | None = None,
) -> SavingsReport:
    """Requests of the period a cheaper model meeting the same requirements could have
    served, with the estimated saving per (app, model), per app and per model. ``today``
    (default: the database's current UTC date) excludes models expired by then.
    ``source``: "ledger" (the raw rows, any period, as of now) or "rollup" (mv_savings_daily,
    whole UTC days, as of its last refresh); the module docstring says which to use when.
    ``cache``: a CatalogCache kept between calls (the catalog is then parsed once per change)."""
    if not isinstance(min_saving_usd, Decimal) or not min_saving_usd.is_finite() or min_saving_usd < 0:
        raise OptimisationInputError(f"min_saving_usd must be a Decimal >= 0, got {min_saving_usd!r}")
    if source not in SOURCES:
        raise OptimisationInputError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    start, stop = period_bounds(period_from, period_to)
    if today is None:
        today = conn.execute(text("SELECT (now() AT TIME ZONE 'UTC')::date")).scalar_one()
    groups = (load_rollup_groups if source == "rollup" else load_groups)(conn, start, stop)
    if cache is None:
        catalog, prices = load_catalog(conn)
        pool = None
    else:
        catalog, prices, pool = cache.get(catalog_version(conn), lambda: load_catalog(conn), policy)
    return analyse_savings(
        groups, catalog, prices, policy=policy, min_saving_usd=min_saving_usd, limit=limit,
        today=today, period_from=start, period_to=stop, pool=pool,
    )
