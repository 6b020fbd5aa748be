"""GET analytics/costs: spend broken down, budget use per key, reconciled vs unreconciled
spend, and the savings the optimiser finds.

    group_by day | model | provider -> mv_cost_daily (which also says what is reconciled)
    group_by key                    -> mv_usage_daily_by_key (reconciliation is not per key)
    budgets                         -> mv_usage_daily_by_key spend in each key's current period
                                       (UTC day or month, as the proxy counts it) vs budget_usd
    reconciliation                  -> mv_cost_daily over [from, to)
    savings                         -> minerva_core.optimisation.find_savings(conn, from, to,
                                       source="rollup"): mv_savings_daily over the same whole
                                       UTC days (see find_savings_for); savings=false leaves
                                       it out

spend_usd is what budgets count: the upstream charge, or Minerva's estimate until it is known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from minerva_core.analytics import views
from minerva_core.analytics.results import BudgetUse, CostReport, CostRow, Reconciliation, Savings
from minerva_core.analytics.usage import key_names
from minerva_core.errors import SavingsNotReadyError

log = logging.getLogger(__name__)

_BY_COST_VIEW = {"day": "day", "model": "model", "provider": "provider_name"}
_LABEL = {"day": "day", "model": "NULLIF(model, '')", "provider": "NULLIF(provider_name, '')"}

_SPEND = (
    "sum(requests)::bigint AS requests, coalesce(sum(cost_usd), 0) AS cost_usd, "
    "coalesce(sum(cost_estimated_usd), 0) AS cost_estimated_usd, coalesce(sum(spend_usd), 0) AS spend_usd, "
    "coalesce(sum(cost_unknown), 0)::bigint AS cost_unknown"
)


@dataclass(frozen=True, slots=True)
class CostQuery:
    group_by: str  # day | model | provider | key
    start: date  # [start, end) in UTC days
    end: date


def breakdown_sql(query: CostQuery) -> tuple[str, dict[str, Any]]:
    params = {"start": query.start, "end": query.end}
    if query.group_by == "key":
        return (
            f"SELECT NULLIF(api_key_id, '{views.NO_KEY}'::uuid) AS api_key_id, {_SPEND}\n"
            f"  FROM {views.USAGE_DAILY_BY_KEY} WHERE day >= :start AND day < :end\n"
            " GROUP BY api_key_id ORDER BY api_key_id"
        ), params
    column = _BY_COST_VIEW[query.group_by]
    return (
        f"SELECT {_LABEL[query.group_by]} AS label, {_SPEND},\n"
        "       coalesce(sum(spend_usd) FILTER (WHERE reconciled), 0) AS reconciled_spend_usd,\n"
        "       coalesce(sum(spend_usd) FILTER (WHERE NOT reconciled), 0) AS unreconciled_spend_usd,\n"
        "       coalesce(sum(billed_usd), 0) AS billed_usd\n"
        f"  FROM {views.COST_DAILY} WHERE day >= :start AND day < :end\n"
        f" GROUP BY {column} ORDER BY {column}"
    ), params


RECONCILIATION_SQL = f"""
SELECT coalesce(sum(spend_usd) FILTER (WHERE reconciled), 0)     AS reconciled_spend_usd,
       coalesce(sum(spend_usd) FILTER (WHERE NOT reconciled), 0) AS unreconciled_spend_usd,
       count(DISTINCT day) FILTER (WHERE reconciled)              AS reconciled_days,
       count(DISTINCT day) FILTER (WHERE NOT reconciled)          AS unreconciled_days,
       coalesce(sum(billed_usd), 0)                               AS billed_usd,
       coalesce(sum(matched_usd), 0)                              AS matched_usd,
       coalesce(sum(mismatched_usd), 0)                           AS mismatched_usd,
       coalesce(sum(delta_usd), 0)                                AS delta_usd,
       coalesce(sum(discrepancies), 0)::bigint                    AS discrepancies
  FROM {views.COST_DAILY}
 WHERE day >= :start AND day < :end
"""

BUDGETS_SQL = f"""
WITH spend AS (  -- one range scan of this month's rows, then per key
    SELECT api_key_id, sum(spend_usd) AS month_usd, sum(spend_usd) FILTER (WHERE day = :today) AS day_usd
      FROM {views.USAGE_DAILY_BY_KEY}
     WHERE day >= :month_start AND day <= :today
     GROUP BY api_key_id
)
SELECT k.id, k.name, k.budget_usd, k.budget_period,
       coalesce(CASE k.budget_period WHEN 'day' THEN s.day_usd ELSE s.month_usd END, 0) AS spent_usd
  FROM api_keys k
  LEFT JOIN spend s ON s.api_key_id = k.id
 WHERE k.budget_usd IS NOT NULL AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > :now)
 ORDER BY k.name, k.id
"""


def _period(period: str, today: date) -> tuple[datetime, datetime]:
    if period == "day":
        start = today
        end = today + timedelta(days=1)
    else:
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    as_instant = lambda d: datetime(d.year, d.month, d.day, tzinfo=timezone.utc)  # noqa: E731
    return as_instant(start), as_instant(end)


def budgets(conn: Connection, now: datetime) -> list[BudgetUse]:
    today = now.astimezone(timezone.utc).date()
    rows = views.fetch(conn, BUDGETS_SQL, {"today": today, "month_start": today.replace(day=1), "now": now})
    out = []
    for row in rows:
        start, end = _period(row["budget_period"], today)
        out.append(BudgetUse(
            api_key_id=row["id"], name=row["name"], period=row["budget_period"], period_start=start,
            period_end=end, budget_usd=Decimal(row["budget_usd"]), spent_usd=row["spent_usd"],
        ))
    return out


def reconciliation(conn: Connection, query: CostQuery) -> Reconciliation:
    row = views.fetch(conn, RECONCILIATION_SQL, {"start": query.start, "end": query.end})[0]
    return Reconciliation(**row)


def breakdown(conn: Connection, query: CostQuery) -> list[CostRow]:
    sql, params = breakdown_sql(query)
    rows = views.fetch(conn, sql, params)
    if query.group_by == "key":
        names = key_names(conn, {row["api_key_id"] for row in rows if row["api_key_id"]})
        return [
            CostRow(group={"api_key_id": row["api_key_id"], "key_name": names.get(row["api_key_id"])},
                    **{k: row[k] for k in ("requests", "cost_usd", "cost_estimated_usd", "spend_usd", "cost_unknown")})
            for row in rows
        ]
    return [
        CostRow(group={query.group_by: row["label"]}, **{k: v for k, v in row.items() if k != "label"})
        for row in rows
    ]


def totals(rows: list[CostRow], recon: Reconciliation) -> CostRow:
    total = lambda name: sum((getattr(r, name) for r in rows), start=Decimal(0))  # noqa: E731
    return CostRow(
        group={}, requests=sum(r.requests for r in rows), cost_usd=total("cost_usd"),
        cost_estimated_usd=total("cost_estimated_usd"), spend_usd=total("spend_usd"),
        cost_unknown=sum(r.cost_unknown for r in rows), reconciled_spend_usd=recon.reconciled_spend_usd,
        unreconciled_spend_usd=recon.unreconciled_spend_usd, billed_usd=recon.billed_usd,
    )


def find_savings_for(conn: Connection, start: datetime, end: datetime, *, cache: Any = None) -> Savings:
    """Integration point with the optimiser (minerva_core.optimisation):
    ``find_savings(conn, period_from, period_to, source="rollup") -> SavingsReport`` over
    [start, end), UTC midnights (whole days, as the rest of the cost report), read from the
    daily savings rollup (mv_savings_daily), never the raw ledger. ``cache``: a CatalogCache
    kept by the caller between requests. Absent -> an empty list with a note; a rollup never
    refreshed -> a note; a failure is logged and noted, so the cost figures still answer."""
    try:
        from minerva_core.optimisation import find_savings
    except ImportError:
        return Savings(False, [], None, "savings analysis is not available: minerva_core.optimisation "
                                        "(find_savings) is not installed")
    try:
        report = find_savings(conn, start, end, source="rollup", cache=cache)
    except SavingsNotReadyError as exc:
        return Savings(False, [], None, str(exc))
    except Exception as exc:  # the optimiser's failure must not take the cost report down with it
        log.exception("find_savings failed for %s .. %s", start, end)
        conn.rollback()
        return Savings(False, [], None, f"savings analysis failed ({exc.__class__.__name__}); see the server log")
    items, summary = _summarise(report)
    notes = getattr(report, "notes", None)
    return Savings(True, items, summary, "; ".join(notes) if notes else None)


def _summarise(report: Any) -> tuple[list[Any], Any]:
    """(the savings found, a summary) of a SavingsReport: its ``rows`` as flat table rows
    (money as decimal strings) and its totals and rollups. Other shapes pass through."""
    to_rows = getattr(report, "to_rows", None)
    if callable(to_rows):
        summary = {
            name: getattr(report, name)
            for name in ("period_from", "period_to", "total_actual_usd", "total_saving_usd", "total_saving_pct",
                         "total_requests", "truncated")
            if hasattr(report, name)
        }
        return to_rows("rows"), {**summary, "by_model": to_rows("models"), "by_app": to_rows("apps")}
    if isinstance(report, (list, tuple)):
        return list(report), None
    for name in ("rows", "items", "savings"):
        value = getattr(report, name, None)
        if isinstance(value, (list, tuple)):
            return list(value), report
    return [], report


def cost_report(conn: Connection, query: CostQuery, *, now: datetime, include_savings: bool = True,
                savings_cache: Any = None) -> CostReport:
    """The cost report of ``query``; ``savings_cache`` (an optimisation CatalogCache kept by
    the caller) spares the savings analysis a catalog parse per request."""
    recon = reconciliation(conn, query)
    rows = breakdown(conn, query)
    source = views.USAGE_DAILY_BY_KEY if query.group_by == "key" else views.COST_DAILY
    as_instant = lambda d: datetime(d.year, d.month, d.day, tzinfo=timezone.utc)  # noqa: E731
    return CostReport(
        group_by=query.group_by, start=query.start, end=query.end, rows=rows, totals=totals(rows, recon),
        budgets=budgets(conn, now), reconciliation=recon,
        refreshed_at=views.refreshed_at(conn, source, views.COST_DAILY, views.USAGE_DAILY_BY_KEY,
                                        *((views.SAVINGS_DAILY,) if include_savings else ())),
        savings=find_savings_for(conn, as_instant(query.start), as_instant(query.end), cache=savings_cache)
        if include_savings
        else Savings(False, [], None, "not requested (savings=false)"),
    )
