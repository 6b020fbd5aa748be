"""The reads the pages render server-side (SQLAlchemy Core text; small, indexed queries).
The model list itself comes from minerva_core.catalog_queries, like models/discover."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class Facets:
    providers: list[str]
    families: list[str]
    modalities: list[str]
    model_ids: list[str]


def catalog_facets(conn: Connection) -> Facets:
    """The filter choices of the model browser and the model ids for the chain editor."""
    rows = conn.execute(text(
        "SELECT id, upstream_provider, model_family, input_modalities, output_modalities, status "
        "FROM ai_models ORDER BY id COLLATE \"C\""
    )).all()
    modalities = {m for r in rows for m in (r.input_modalities or []) + (r.output_modalities or [])}
    return Facets(
        providers=sorted({r.upstream_provider for r in rows if r.upstream_provider}),
        families=sorted({r.model_family for r in rows if r.model_family}),
        modalities=sorted(modalities),
        model_ids=[r.id for r in rows if r.status == "active"],
    )


_RULE_COLUMNS = ("id, name, description, metric, scope, comparison, threshold, window_seconds, cooldown_seconds, "
                 "severity, channel, channel_config <> '{}'::jsonb AS channel_configured, enabled, muted_until, "
                 "muted_until IS NOT NULL AND muted_until > now() AS muted, updated_at")


def alert_rules(conn: Connection) -> list[dict[str, Any]]:
    """Every rule, newest first; channel_config (may hold a webhook secret) is never read out."""
    rows = conn.execute(text(f"SELECT {_RULE_COLUMNS} FROM alert_rules ORDER BY id DESC LIMIT 200"))
    return [dict(r._mapping) for r in rows]


def alert_rule(conn: Connection, rule_id: int) -> dict[str, Any] | None:
    row = conn.execute(text(f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE id = :id"), {"id": rule_id}).first()
    return None if row is None else dict(row._mapping)


def recent_alert_events(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        "SELECT e.id, e.kind, e.severity, e.message, e.fired_at, e.delivery_status, e.resolved_at, r.name AS rule "
        "FROM alert_events e LEFT JOIN alert_rules r ON r.id = e.rule_id ORDER BY e.fired_at DESC LIMIT :n"
    ), {"n": limit})
    return [dict(r._mapping) for r in rows]


def reconciliation_runs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        "SELECT id, period_from, period_to, status, ledger_total_usd, bill_total_usd, delta_usd, accuracy, "
        "item_counts, report_paths, error, started_at, finished_at "
        "FROM reconciliation_runs ORDER BY started_at DESC LIMIT :n"
    ), {"n": limit})
    out = []
    for r in rows:
        run = dict(r._mapping)
        run["formats"] = sorted(k for k, v in (run.pop("report_paths") or {}).items() if isinstance(v, str) and v)
        out.append(run)
    return out


def report_path(conn: Connection, run_id: uuid.UUID, fmt: str) -> str | None:
    """The file recorded for this run and format, or None: only recorded paths are served."""
    row = conn.execute(text("SELECT report_paths ->> :fmt FROM reconciliation_runs WHERE id = :id"),
                       {"id": run_id, "fmt": fmt}).first()
    return None if row is None else row[0]


__all__ = ["Facets", "alert_rule", "alert_rules", "catalog_facets", "recent_alert_events", "reconciliation_runs",
           "report_path"]
