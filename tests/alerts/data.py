"""Row builders for the alerts tests: rules, ledger rows, keys, catalog, sync jobs and
reconciliation runs, inserted with plain SQL the way the other parts write them."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

from minerva_core.alerts import metrics, store
from minerva_core.alerts.evaluate import NewEvent

# Noon UTC today: budget periods are then half gone, and now ± minutes stays in the same day.
NOW = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)


def add_rule(conn: Connection, name: str, metric: str, threshold: Any, comparison: str = "gte", **kw: Any) -> int:
    row = {
        "name": name, "metric": metric, "threshold": Decimal(str(threshold)), "comparison": comparison,
        "scope": json.dumps(kw.pop("scope", {})), "window_seconds": kw.pop("window_seconds", 86400),
        "cooldown_seconds": kw.pop("cooldown_seconds", 600), "severity": kw.pop("severity", "warning"),
        "channel": kw.pop("channel", "log"), "channel_config": json.dumps(kw.pop("channel_config", {})),
        "enabled": kw.pop("enabled", True), "muted_until": kw.pop("muted_until", None),
    }
    assert not kw, kw
    return conn.execute(
        text(
            "INSERT INTO alert_rules (name, metric, threshold, comparison, scope, window_seconds, "
            "cooldown_seconds, severity, channel, channel_config, enabled, muted_until) VALUES "
            "(:name, :metric, :threshold, :comparison, CAST(:scope AS jsonb), :window_seconds, "
            ":cooldown_seconds, :severity, :channel, CAST(:channel_config AS jsonb), :enabled, :muted_until) "
            "RETURNING id"
        ),
        row,
    ).scalar_one()


def add_key(conn: Connection, name: str, budget: Any = None, period: str | None = None) -> str:
    return str(conn.execute(
        text(
            "INSERT INTO api_keys (name, key_hash, key_prefix, budget_usd, budget_period) "
            "VALUES (:name, :hash, 'mk-test', :budget, :period) RETURNING id"
        ),
        {"name": name, "hash": uuid.uuid4().hex, "budget": None if budget is None else Decimal(str(budget)), "period": period},
    ).scalar_one())


def add_ledger(conn: Connection, created_at: datetime, *, cost: Any = None, estimated: Any = None, status: str = "ok", **kw: Any) -> None:
    conn.execute(text("SELECT ensure_usage_ledger_partition(:ts)"), {"ts": created_at})
    row = {
        "request_id": uuid.uuid4().hex, "created_at": created_at,
        "cost_usd": None if cost is None else Decimal(str(cost)),
        "cost_source": None if cost is None else "response",
        "cost_estimated_usd": None if estimated is None else Decimal(str(estimated)),
        "status": status, "api_key_id": kw.pop("api_key_id", None), "model_used": kw.pop("model", "openai/gpt-4o"),
        "provider_name": kw.pop("provider", "OpenAI"), "latency_ms": kw.pop("latency_ms", None),
        "ttft_ms": kw.pop("ttft_ms", None), "app": kw.pop("app", None),
    }
    assert not kw, kw
    conn.execute(
        text(
            "INSERT INTO usage_ledger (request_id, created_at, cost_usd, cost_source, cost_estimated_usd, status, "
            "api_key_id, model_used, provider_name, latency_ms, ttft_ms, app) VALUES (:request_id, :created_at, "
            ":cost_usd, :cost_source, :cost_estimated_usd, :status, :api_key_id, :model_used, :provider_name, "
            ":latency_ms, :ttft_ms, :app)"
        ),
        row,
    )


def add_model(conn: Connection, model_id: str) -> None:
    conn.execute(
        text(
            "INSERT INTO ai_models (id, name, upstream_provider) VALUES (:id, :id, split_part(:id, '/', 1)) "
            "ON CONFLICT DO NOTHING"
        ),
        {"id": model_id},
    )


def add_price(conn: Connection, model_id: str, prompt: str, completion: str, valid_from: datetime, valid_to: datetime | None = None) -> None:
    add_model(conn, model_id)
    conn.execute(
        text(
            "INSERT INTO ai_model_prices (model_id, valid_from, valid_to, prompt, completion, content_hash) "
            "VALUES (:model, :vf, :vt, :prompt, :completion, :hash)"
        ),
        {"model": model_id, "vf": valid_from, "vt": valid_to, "prompt": Decimal(prompt),
         "completion": Decimal(completion), "hash": hashlib.sha256(f"{prompt}/{completion}".encode()).hexdigest()},
    )


def add_endpoint(conn: Connection, model_id: str, tag: str, provider: str, uptime: float | None, *,
                 status: int = 0, observed_at: datetime, removed_at: datetime | None = None) -> None:
    add_model(conn, model_id)
    conn.execute(
        text(
            "INSERT INTO ai_model_endpoints (model_id, endpoint_tag, provider_name, status, uptime_last_30m, "
            "first_seen_at, observed_at, removed_at) VALUES (:model, :tag, :provider, :status, :uptime, :seen, :seen, :removed)"
        ),
        {"model": model_id, "tag": tag, "provider": provider, "status": status, "uptime": uptime,
         "seen": observed_at, "removed": removed_at},
    )


def add_sync_job(conn: Connection, status: str, finished_at: datetime, kind: str = "discover") -> None:
    conn.execute(
        text(
            "INSERT INTO model_sync_jobs (kind, status, created_at, started_at, finished_at, error, quarantine_reason) "
            "VALUES (:kind, :status, :started, :started, :finished, :error, :reason)"
        ),
        {"kind": kind, "status": status, "started": finished_at - timedelta(minutes=1), "finished": finished_at,
         "error": "boom" if status == "failed" else None,
         "reason": "gate failed" if status == "quarantined" else None},
    )


def add_reconciliation(conn: Connection, finished_at: datetime, delta: Any, accuracy: Any,
                       items: list[tuple[str, Any, Any]] = ()) -> str:
    run_id = conn.execute(
        text(
            "INSERT INTO reconciliation_runs (period_from, period_to, status, delta_usd, accuracy, started_at, finished_at) "
            "VALUES (:pf, :pt, 'succeeded', :delta, :accuracy, :started, :finished) RETURNING id"
        ),
        {"pf": finished_at - timedelta(days=2), "pt": finished_at - timedelta(days=1),
         "delta": Decimal(str(delta)), "accuracy": Decimal(str(accuracy)),
         "started": finished_at - timedelta(minutes=5), "finished": finished_at},
    ).scalar_one()
    for classification, ledger, bill in items:
        conn.execute(
            text(
                "INSERT INTO reconciliation_items (run_id, classification, ledger_amount_usd, bill_amount_usd) "
                "VALUES (:run, :c, :ledger, :bill)"
            ),
            {"run": run_id, "c": classification, "ledger": None if ledger is None else Decimal(str(ledger)),
             "bill": None if bill is None else Decimal(str(bill))},
        )
    return str(run_id)


def evaluate(engine: Engine, now: datetime) -> list[NewEvent]:
    """One evaluation as the flow does it (measure every enabled rule, fire under the lock)."""
    with engine.begin() as conn:
        rules = store.load_rules(conn)
        observations = {r.id: metrics.observe(conn, r, now) for r in rules if not r.is_subscription}
        return [event for _, event in store.fire(conn, rules, observations, now)]


def rule_names(engine: Engine, events: list[NewEvent]) -> list[str]:
    with engine.connect() as conn:
        names = dict(conn.execute(text("SELECT id, name FROM alert_rules")).all())
    return sorted(names[e.rule_id] for e in events)
