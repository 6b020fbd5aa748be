"""Reading the snapshot's rows and the keys' current spend from PostgreSQL (SQLAlchemy Core,
synchronous: the reloader runs these in a worker thread, never on the request path).

Measured health comes from mv_model_performance (``minerva_core.analytics.load_model_health``).
A view refresh bumps no catalog_versions row, so the versions the reloader compares carry
one more entry, ``HEALTH_VERSION``: the id of the view's last successful refresh recorded by
the refresh flow (which also NOTIFYs minerva_catalog after recording, so proxies reload at
once instead of at the next poll)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, text

from minerva_core.analytics.health import load_model_health
from minerva_core.limits import period_start
from proxy.gateway.state import KeyInfo, SnapshotRows

MODELS_SQL = text(
    """
    SELECT m.id, m.canonical_slug, m.upstream_provider, m.model_family, m.context_length,
           m.max_completion_tokens, m.input_modalities, m.output_modalities,
           m.supported_parameters, m.supports_tools, m.supports_structured_output,
           m.supports_reasoning, m.is_variable_price, m.quality_score, m.status,
           m.expiration_date, m.upstream_created_at,
           p.prompt, p.completion, p.request, p.raw AS pricing_raw, p.is_variable AS price_is_variable
      FROM ai_models m
      LEFT JOIN ai_model_prices p
        ON p.model_id = m.id AND p.valid_to IS NULL AND p.source = 'models'
     ORDER BY m.id
    """
)
ENDPOINTS_SQL = text(
    """
    SELECT model_id, provider_name, latency_p50_ms, throughput_p50, uptime_last_30m
      FROM ai_model_endpoints
     WHERE removed_at IS NULL
    """
)
STRATEGIES_SQL = text(
    """
    SELECT name, alias, kind, weights, requirements, fallback_chain, is_default, is_enabled, version
      FROM routing_strategies
    """
)
KEYS_SQL = text(
    """
    SELECT id, name, key_hash, allowed_models, default_strategy, rpm_limit, tpm_limit,
           budget_usd, budget_period, queue_when_limited, max_queue_wait_ms, app,
           expires_at, revoked_at
      FROM api_keys
    """
)
HEALTH_VIEW = "mv_model_performance"
HEALTH_VERSION = "mv_model_performance"  # a pseudo-table in the versions: the view's last recorded refresh
VERSIONS_QUERY = f"""
    SELECT table_name, version FROM catalog_versions
    UNION ALL
    SELECT '{HEALTH_VERSION}', coalesce(max(id), 0) FROM materialized_view_refreshes
     WHERE view_name = '{HEALTH_VIEW}' AND status = 'succeeded'
"""
VERSIONS_SQL = text(VERSIONS_QUERY)
HEALTH_POPULATED_SQL = text(
    f"SELECT ispopulated FROM pg_matviews WHERE schemaname = current_schema() AND matviewname = '{HEALTH_VIEW}'"
)
SPEND_SQL = text(
    """
    SELECT api_key_id::text AS key_id,
           coalesce(sum(coalesce(cost_usd, cost_estimated_usd, 0))
                    FILTER (WHERE created_at >= :day_start), 0) AS day,
           coalesce(sum(coalesce(cost_usd, cost_estimated_usd, 0)), 0) AS month
      FROM usage_ledger
     WHERE api_key_id = ANY(CAST(:ids AS uuid[])) AND created_at >= :month_start
     GROUP BY api_key_id
    """
)


def fetch_versions(conn: Connection) -> dict[str, int]:
    return {r.table_name: int(r.version) for r in conn.execute(VERSIONS_SQL)}


CATALOG_TABLES = ("ai_models", "ai_model_prices", "ai_model_endpoints", HEALTH_VERSION)


def fetch_health(conn: Connection) -> dict[str, dict]:
    """{model id: ModelHealth fields} measured from the proxy's own traffic; {} while the
    view was never refreshed (checked first: a failed read would end the snapshot's
    transaction)."""
    if not conn.execute(HEALTH_POPULATED_SQL).scalar():
        return {}
    return load_model_health(conn)


def fetch_rows(conn: Connection, previous: dict[str, int] | None = None) -> SnapshotRows:
    """Every row a snapshot is built from, in one REPEATABLE READ view of the database.
    With ``previous`` (the versions the current snapshot was built at) the catalog tables
    are read only if one of them changed (a refresh of the health view counts as a change of
    the catalog: the routing indexes are rebuilt with the new figures); a new key or strategy
    costs milliseconds."""
    conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    versions = fetch_versions(conn)
    catalog = previous is None or any(versions.get(t) != previous.get(t) for t in CATALOG_TABLES)
    return SnapshotRows(
        versions=versions,
        models=[dict(r._mapping) for r in conn.execute(MODELS_SQL)] if catalog else [],
        endpoints=[dict(r._mapping) for r in conn.execute(ENDPOINTS_SQL)] if catalog else [],
        health=fetch_health(conn) if catalog else {},
        strategies=[dict(r._mapping) for r in conn.execute(STRATEGIES_SQL)],
        keys=[dict(r._mapping) for r in conn.execute(KEYS_SQL)],
        catalog_loaded=catalog,
    )


def fetch_spend(conn: Connection, keys: Iterable[KeyInfo], now: datetime | None = None) -> dict[str, Decimal]:
    """Spend of each budgeted key in its current period (UTC day or month): the upstream
    charge where known, else our estimate (as api_keys.budget_usd's comment says)."""
    now = now or datetime.now(UTC)
    budgeted = [k for k in keys if k.budget_usd is not None and k.budget_period]
    if not budgeted:
        return {}
    rows = conn.execute(
        SPEND_SQL,
        {"ids": [k.id for k in budgeted], "day_start": period_start("day", now),
         "month_start": period_start("month", now)},
    ).all()
    by_key = {r.key_id: r for r in rows}
    out: dict[str, Decimal] = {}
    for key in budgeted:
        row = by_key.get(key.id)
        out[key.id] = Decimal(0) if row is None else Decimal(row.day if key.budget_period == "day" else row.month)
    return out


__all__ = ["CATALOG_TABLES", "HEALTH_VERSION", "VERSIONS_QUERY", "fetch_health", "fetch_rows", "fetch_spend",
           "fetch_versions"]
