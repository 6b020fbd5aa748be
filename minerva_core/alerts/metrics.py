"""The SQL behind each metric kind: one function per metric, (conn, rule, now) -> observations.

Time windows are (now - window_seconds, now]. Spend is ``coalesce(cost_usd,
cost_estimated_usd)``: the upstream charge, else our own estimate until the charge is known.
Scopes are strict: a key the metric does not know is an AlertRuleError (a typo must not
silently widen a rule to everything). Values may be a string or a list of strings.

    metric                  value                                   scope keys
    spend.budget_used       spent / budget_usd in the key's current  api_key_id, app, period
                            UTC day or month (window not used)
    spend.budget_forecast   rules.budget_forecast (burn rate)        + min_elapsed (default 0.05)
    spend.total_usd         USD spent over the window                api_key_id, model, provider,
                                                                     app, group_by
    errors.rate             non-ok requests / requests; no value     + min_requests (default 20)
                            under min_requests in the scope (group)
    latency.p95_ms          percentile_cont(0.95) of latency_ms of   + min_requests (default 20),
                            ok requests                              field (latency_ms|ttft_ms)
    provider.health         min uptime_last_30m (percent) per        provider, model, measure
                            provider; measure=down_share: share of   (min_uptime|down_share)
                            endpoints with status < 0. Endpoints
                            listed and observed within the window
    catalog.price_change    count of price rows closing a previous   model, provider, source,
                            one (valid_from in the window);          measure (count|max_ratio)
                            measure=max_ratio: rules.price_move_ratio
    catalog.quarantined     quarantined sync jobs finished in window kind (discover|pricing)
    reconciliation.gap      latest succeeded run finished in the     measure (abs_delta_usd|
                            window: sum |item delta| (else |run       net_delta_usd|inaccuracy)
                            delta|); inaccuracy = 1 - accuracy

group_by (model | provider | api_key_id | app) gives one observation per group.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import Connection, text

from minerva_core.alerts.rules import AlertRule, Observation, budget_forecast, budget_used, period_bounds, price_move_ratio
from minerva_core.alerts.scope import choice, filters, number, scope_of
from minerva_core.errors import AlertRuleError

Metric = Callable[[Connection, AlertRule, datetime], list[Observation]]

_LEDGER_COLUMNS = {"api_key_id": "api_key_id", "model": "model_used", "provider": "provider_name", "app": "app"}
_LEDGER_SCOPE = set(_LEDGER_COLUMNS) | {"group_by"}
_SPEND = "coalesce(cost_usd, cost_estimated_usd)"


def _ledger_group(rule: AlertRule, scope: dict) -> tuple[str | None, str]:
    """(subject key, SQL expression) of scope.group_by, or (None, constant) for one group."""
    key = scope.get("group_by")
    if key is None:
        return None, "NULL"
    key = choice(rule, scope, "group_by", tuple(_LEDGER_COLUMNS))
    column = _LEDGER_COLUMNS[key]
    return key, f"{column}::text" if key == "api_key_id" else column


def _subject(scope: dict, keys, group_key: str | None, group_value: Any) -> dict[str, Any]:
    subject = {k: scope[k] for k in keys if k in scope}
    if group_key is not None:
        subject[group_key] = group_value
    return subject


def _ledger_rows(conn: Connection, rule: AlertRule, now: datetime, scope: dict, select: str, where: str = ""):
    group_key, group_sql = _ledger_group(rule, scope)
    params: dict[str, Any] = {"since": rule.window_start(now), "now": now}
    sql = (
        f"SELECT {group_sql} AS grp, {select} FROM usage_ledger "
        f"WHERE created_at > :since AND created_at <= :now{where}"
        + filters(rule, scope, _LEDGER_COLUMNS, params)
        + (" GROUP BY grp ORDER BY grp" if group_key else "")
    )
    for row in conn.execute(text(sql), params).mappings():
        yield _subject(scope, _LEDGER_COLUMNS, group_key, row["grp"]), row


def spend_total_usd(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, _LEDGER_SCOPE)
    select = f"coalesce(sum({_SPEND}), 0) AS spent, count(*) AS requests"
    return [
        Observation(Decimal(row["spent"]), subject, {"requests": row["requests"]})
        for subject, row in _ledger_rows(conn, rule, now, scope, select)
    ]


def errors_rate(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, _LEDGER_SCOPE | {"min_requests"})
    minimum = number(rule, scope, "min_requests", "20")
    select = "count(*) AS requests, count(*) FILTER (WHERE status <> 'ok') AS failed"
    out = []
    for subject, row in _ledger_rows(conn, rule, now, scope, select):
        if row["requests"] == 0 or row["requests"] < minimum:
            continue
        rate = Decimal(row["failed"]) / Decimal(row["requests"])
        out.append(Observation(rate, subject, {"requests": row["requests"], "failed": row["failed"]}))
    return out


def latency_p95_ms(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, _LEDGER_SCOPE | {"min_requests", "field"})
    minimum = number(rule, scope, "min_requests", "20")
    column = choice(rule, scope, "field", ("latency_ms", "ttft_ms"))
    select = f"count(*) AS requests, (percentile_cont(0.95) WITHIN GROUP (ORDER BY {column}))::numeric AS p95"
    out = []
    where = f" AND status = 'ok' AND {column} IS NOT NULL"
    for subject, row in _ledger_rows(conn, rule, now, scope, select, where):
        if row["requests"] == 0 or row["requests"] < minimum:
            continue
        out.append(Observation(Decimal(row["p95"]), subject, {"requests": row["requests"], "field": column}))
    return out


def _budget_rows(conn: Connection, rule: AlertRule, now: datetime, scope: dict):
    params: dict[str, Any] = {
        "now": now,
        "day_start": period_bounds("day", now)[0],
        "month_start": period_bounds("month", now)[0],
    }
    where = filters(rule, scope, {"api_key_id": "k.id", "app": "k.app", "period": "k.budget_period"}, params)
    sql = (
        f"SELECT k.id::text AS api_key_id, k.name, k.budget_usd, k.budget_period, "
        f"coalesce(sum(coalesce(l.cost_usd, l.cost_estimated_usd)), 0) AS spent "
        f"FROM api_keys k LEFT JOIN usage_ledger l ON l.api_key_id = k.id AND l.created_at <= :now "
        f"AND l.created_at >= CASE k.budget_period WHEN 'day' THEN :day_start ELSE :month_start END "
        f"WHERE k.budget_usd IS NOT NULL AND k.revoked_at IS NULL "
        f"AND (k.expires_at IS NULL OR k.expires_at > :now){where} "
        f"GROUP BY k.id ORDER BY k.id"
    )
    for row in conn.execute(text(sql), params).mappings():
        start, end = period_bounds(row["budget_period"], now)
        details = {
            "key_name": row["name"], "spent_usd": str(row["spent"]), "budget_usd": str(row["budget_usd"]),
            "period": row["budget_period"], "period_start": start.isoformat(), "period_end": end.isoformat(),
        }
        yield {"api_key_id": row["api_key_id"]}, row, (start, end), details


def spend_budget_used(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, {"api_key_id", "app", "period"})
    out = []
    for subject, row, _, details in _budget_rows(conn, rule, now, scope):
        used = budget_used(row["spent"], row["budget_usd"])
        if used is not None:
            out.append(Observation(used, subject, details))
    return out


def spend_budget_forecast(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, {"api_key_id", "app", "period", "min_elapsed"})
    min_elapsed = number(rule, scope, "min_elapsed", "0.05")
    out = []
    for subject, row, (start, end), details in _budget_rows(conn, rule, now, scope):
        forecast = budget_forecast(row["spent"], row["budget_usd"], start, end, now, min_elapsed)
        if forecast is not None:
            out.append(Observation(forecast, subject, details))
    return out


def provider_health(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, {"provider", "model", "measure"})
    measure = choice(rule, scope, "measure", ("min_uptime", "down_share"))
    params: dict[str, Any] = {"since": rule.window_start(now), "now": now}
    where = filters(rule, scope, {"provider": "provider_name", "model": "model_id"}, params)
    sql = (
        "SELECT provider_name, count(*) AS endpoints, min(uptime_last_30m)::numeric AS min_uptime, "
        "count(*) FILTER (WHERE status < 0) AS down "
        "FROM ai_model_endpoints WHERE removed_at IS NULL AND observed_at > :since "
        f"AND observed_at <= :now{where} GROUP BY provider_name ORDER BY provider_name"
    )
    out = []
    for row in conn.execute(text(sql), params).mappings():
        if measure == "min_uptime":
            if row["min_uptime"] is None:
                continue
            value = Decimal(row["min_uptime"])
        else:
            value = Decimal(row["down"]) / Decimal(row["endpoints"])
        details = {"endpoints": row["endpoints"], "down": row["down"], "measure": measure}
        out.append(Observation(value, {"provider": row["provider_name"]}, details))
    return out


def catalog_price_change(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, {"model", "provider", "source", "measure"})
    measure = choice(rule, scope, "measure", ("count", "max_ratio"))
    params: dict[str, Any] = {"since": rule.window_start(now), "now": now}
    where = filters(rule, scope, {"model": "n.model_id", "provider": "m.upstream_provider", "source": "n.source"}, params)
    sql = (
        "SELECT n.model_id, n.endpoint_tag, o.prompt AS old_prompt, n.prompt AS new_prompt, "
        "o.completion AS old_completion, n.completion AS new_completion "
        "FROM ai_model_prices n JOIN ai_models m ON m.id = n.model_id "
        "JOIN ai_model_prices o ON o.model_id = n.model_id "
        "AND o.endpoint_tag IS NOT DISTINCT FROM n.endpoint_tag AND o.valid_to = n.valid_from "
        f"WHERE n.valid_from > :since AND n.valid_from <= :now{where} ORDER BY n.model_id, n.endpoint_tag"
    )
    changes = conn.execute(text(sql), params).mappings().all()
    subject = {k: scope[k] for k in ("model", "provider", "source") if k in scope}
    models = sorted({c["model_id"] for c in changes})
    details: dict[str, Any] = {"changes": len(changes), "models": models[:50]}
    if measure == "count":
        return [Observation(Decimal(len(changes)), subject, details)]
    ratios = [
        (r, c["model_id"])
        for c in changes
        for r in (price_move_ratio(c["old_prompt"], c["new_prompt"]),
                  price_move_ratio(c["old_completion"], c["new_completion"]))
        if r is not None
    ]
    if not ratios:
        return []
    ratio, model = max(ratios)
    return [Observation(ratio, subject, {**details, "max_ratio_model": model})]


def catalog_quarantined(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, {"kind"})
    params: dict[str, Any] = {"since": rule.window_start(now), "now": now}
    where = filters(rule, scope, {"kind": "kind"}, params)
    sql = (
        "SELECT count(*) AS jobs, array_agg(id::text ORDER BY finished_at DESC) AS ids FROM model_sync_jobs "
        "WHERE status = 'quarantined' AND coalesce(finished_at, created_at) > :since "
        f"AND coalesce(finished_at, created_at) <= :now{where}"
    )
    row = conn.execute(text(sql), params).mappings().one()
    subject = {"kind": scope["kind"]} if "kind" in scope else {}
    return [Observation(Decimal(row["jobs"]), subject, {"sync_job_ids": (row["ids"] or [])[:20]})]


def reconciliation_gap(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    scope = scope_of(rule, {"measure"})
    measure = choice(rule, scope, "measure", ("abs_delta_usd", "net_delta_usd", "inaccuracy"))
    sql = (
        "SELECT r.id::text AS run_id, r.period_from, r.period_to, r.delta_usd, r.accuracy, "
        "(SELECT sum(abs(i.delta_usd)) FROM reconciliation_items i WHERE i.run_id = r.id) AS item_delta "
        "FROM reconciliation_runs r WHERE r.status = 'succeeded' "
        "AND r.finished_at > :since AND r.finished_at <= :now ORDER BY r.finished_at DESC LIMIT 1"
    )
    run = conn.execute(text(sql), {"since": rule.window_start(now), "now": now}).mappings().first()
    if run is None:
        return []
    if measure == "inaccuracy":
        value = None if run["accuracy"] is None else 1 - Decimal(run["accuracy"])
    elif measure == "abs_delta_usd" and run["item_delta"] is not None:
        value = Decimal(run["item_delta"])
    else:
        value = None if run["delta_usd"] is None else abs(Decimal(run["delta_usd"]))
    if value is None:
        return []
    details = {
        "run_id": run["run_id"], "measure": measure,
        "period_from": run["period_from"].isoformat(), "period_to": run["period_to"].isoformat(),
        "delta_usd": None if run["delta_usd"] is None else str(run["delta_usd"]),
        "accuracy": None if run["accuracy"] is None else str(run["accuracy"]),
    }
    return [Observation(value, {}, details)]


METRICS: dict[str, Metric] = {
    "spend.budget_used": spend_budget_used,
    "spend.budget_forecast": spend_budget_forecast,
    "spend.total_usd": spend_total_usd,
    "errors.rate": errors_rate,
    "latency.p95_ms": latency_p95_ms,
    "provider.health": provider_health,
    "catalog.price_change": catalog_price_change,
    "catalog.quarantined": catalog_quarantined,
    "reconciliation.gap": reconciliation_gap,
}


def observe(conn: Connection, rule: AlertRule, now: datetime) -> list[Observation]:
    """The observations of one rule's metric at ``now``."""
    try:
        metric = METRICS[rule.metric]
    except KeyError:
        raise AlertRuleError(f"unknown metric {rule.metric!r} (known: {sorted(METRICS)})", rule=rule.name) from None
    return metric(conn, rule, now)
