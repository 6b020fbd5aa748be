"""analytics/costs: breakdowns, budgets and reconciliation against the inserted rows and runs."""

from __future__ import annotations

import sys
import types
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.analytics import expected
from tests.analytics.conftest import get

LABEL = {"day": lambda r: expected.day_of(r["created_at"]).isoformat(), "model": lambda r: r["model_used"],
         "provider": lambda r: r["provider_name"], "key": lambda r: None if r["api_key_id"] is None else str(r["api_key_id"])}
FIELD = {"day": "day", "model": "model", "provider": "provider", "key": "api_key_id"}


def _range(seeded, days: int = 41) -> tuple[date, date]:
    today = seeded.now.date()
    return today - timedelta(days=days), today + timedelta(days=1)


def _reconciled(seeded, day: date) -> bool:
    return expected.covering_run(seeded.runs, day) is not None


@pytest.mark.parametrize("group_by", ["day", "model", "provider", "key"])
def test_breakdown(client, seeded, group_by):
    start, end = _range(seeded)
    body = get(client, "analytics/costs", {"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by})
    assert (body["from"], body["to"], body["group_by"]) == (start.isoformat(), end.isoformat(), group_by)
    want: dict = defaultdict(lambda: defaultdict(lambda: Decimal(0)))
    for r in seeded.rows:
        w = want[LABEL[group_by](r)]
        w["requests"] += 1
        w["cost_usd"] += r["cost_usd"] or 0
        w["cost_estimated_usd"] += r["cost_estimated_usd"] or 0
        w["spend_usd"] += expected.spend(r)
        w["cost_unknown"] += r["cost_usd"] is None
        if group_by != "key":
            w["reconciled" if _reconciled(seeded, expected.day_of(r["created_at"])) else "unreconciled"] += expected.spend(r)
    got = {row[FIELD[group_by]]: row for row in body["data"] if row["requests"]}
    assert set(got) == set(want)
    for label, row in got.items():
        w = want[label]
        assert row["requests"] == w["requests"] and row["cost_unknown"] == w["cost_unknown"]
        for name in ("cost_usd", "cost_estimated_usd", "spend_usd"):
            assert Decimal(row[name]) == w[name], (label, name)
        if group_by == "key":
            assert row["reconciled_spend_usd"] is None
        else:
            assert Decimal(row["reconciled_spend_usd"]) == w["reconciled"]
            assert Decimal(row["unreconciled_spend_usd"]) == w["unreconciled"]
    total_spend = sum((expected.spend(r) for r in seeded.rows), Decimal(0))
    assert Decimal(body["totals"]["spend_usd"]) == total_spend
    assert body["totals"]["requests"] == len(seeded.rows)
    if group_by == "model":  # a billed model the ledger never saw shows up with its bill
        ghost = next(row for row in body["data"] if row["model"] == "ghost/model")
        assert ghost["requests"] == 0 and Decimal(ghost["billed_usd"]) == Decimal("2.00")


def test_reconciliation_summary(client, seeded):
    start, end = _range(seeded, days=30)
    body = get(client, "analytics/costs", {"from": start.isoformat(), "to": end.isoformat()})
    rec = body["reconciliation"]
    days = {expected.day_of(r["created_at"]) for r in seeded.rows if start <= expected.day_of(r["created_at"]) < end}
    items = [i for run in seeded.runs for i in run.items
             if i.day is not None and start <= i.day < end and expected.covering_run(seeded.runs, i.day) is run]
    days |= {i.day for i in items}
    in_range = [r for r in seeded.rows if start <= expected.day_of(r["created_at"]) < end]
    reconciled = sum((expected.spend(r) for r in in_range if _reconciled(seeded, expected.day_of(r["created_at"]))), Decimal(0))
    assert Decimal(rec["reconciled_spend_usd"]) == reconciled
    assert Decimal(rec["unreconciled_spend_usd"]) == sum((expected.spend(r) for r in in_range), Decimal(0)) - reconciled
    assert rec["reconciled_days"] == sum(_reconciled(seeded, d) for d in days)
    assert rec["unreconciled_days"] == sum(not _reconciled(seeded, d) for d in days)
    billed = sum((i.bill or 0 for i in items), Decimal(0))
    matched = sum((i.bill for i in items if i.classification == "matched"), Decimal(0))
    assert (Decimal(rec["billed_usd"]), Decimal(rec["matched_usd"])) == (billed, matched)
    assert Decimal(rec["mismatched_usd"]) == sum(
        (abs((i.bill or 0) - (i.ledger or 0)) for i in items if i.classification != "matched"), Decimal(0))
    assert Decimal(rec["delta_usd"]) == sum(((i.bill or 0) - (i.ledger or 0) for i in items), Decimal(0))
    assert rec["accuracy"] == pytest.approx(float(matched / billed))
    assert rec["discrepancies"] == sum(i.classification != "matched" for i in items)
    # the later run speaks for the days both cover; the failed run for none
    assert billed == Decimal("1.25") + Decimal("0.75") + Decimal("2.00") + Decimal("4") + Decimal("1.10") + Decimal("0.10")


def test_budgets(client, seeded):
    body = get(client, "analytics/costs")
    today = seeded.now.date()
    budgets = {b["api_key_id"]: b for b in body["budgets"]}
    assert set(budgets) == {str(k) for k in seeded.keys.budgets}  # revoked and budget-less keys are left out
    for key_id, (name, usd, period) in seeded.keys.budgets.items():
        start = today if period == "day" else today.replace(day=1)
        spent = sum((expected.spend(r) for r in seeded.rows
                     if r["api_key_id"] == key_id and start <= expected.day_of(r["created_at"]) <= today), Decimal(0))
        b = budgets[str(key_id)]
        assert (b["name"], b["period"], Decimal(b["budget_usd"])) == (name, period, usd)
        assert Decimal(b["spent_usd"]) == spent and Decimal(b["remaining_usd"]) == usd - spent
        assert b["fraction_used"] == pytest.approx(float(spent / usd))
        assert b["period_start"].startswith(start.isoformat())
    assert (body["from"], body["to"]) == (today.replace(day=1).isoformat(), (today + timedelta(days=1)).isoformat())


def test_savings_from_minerva_core_optimisation(client, seeded):
    """The real optimiser when installed (an empty catalog here: nothing to switch to), over
    the daily savings rollup, else an empty list with a note."""
    try:
        import minerva_core.optimisation  # noqa: F401
    except ImportError:
        savings = get(client, "analytics/costs")["savings"]
        assert (savings["available"], savings["items"], savings["report"]) == (False, [], None)
        assert "not available" in savings["note"]
        return
    start, end = _range(seeded, days=10)
    savings = get(client, "analytics/costs", {"from": start.isoformat(), "to": end.isoformat()})["savings"]
    assert savings["available"] is True and savings["items"] == []
    charged = sum(1 for r in seeded.rows if r["status"] == "ok" and r["model_used"] and r["cost_usd"] is not None
                  and start <= expected.day_of(r["created_at"]) < end)
    assert savings["report"]["total_requests"] == charged
    assert savings["report"]["period_from"].startswith(start.isoformat())

    # read from mv_savings_daily, not the ledger: a row added since the refresh is not counted
    with seeded.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO usage_ledger (request_id, created_at, model_used, status, cost_usd, cost_source) "
            "VALUES ('savings-unrefreshed', :t, 'openai/gpt-4o', 'ok', 0.5, 'response')"), {"t": seeded.now})
    try:
        again = get(client, "analytics/costs", {"from": start.isoformat(), "to": end.isoformat()})["savings"]
        assert again["report"]["total_requests"] == charged
    finally:
        with seeded.engine.begin() as conn:
            conn.execute(text("DELETE FROM usage_ledger WHERE request_id = 'savings-unrefreshed'"))


def test_savings_can_be_left_out(client, monkeypatch):
    def must_not_run(conn, period_from, period_to, **options):
        raise AssertionError("find_savings called")

    monkeypatch.setitem(sys.modules, "minerva_core.optimisation", types.SimpleNamespace(find_savings=must_not_run))
    savings = get(client, "analytics/costs", {"savings": "false"})["savings"]
    assert savings == {"available": False, "items": [], "report": None, "note": "not requested (savings=false)"}
    assert get(client, "analytics/costs", {"savings": "maybe"}, status=400)["error"]["param"] == "savings"


def test_savings_missing_or_failing(client, monkeypatch):
    monkeypatch.setitem(sys.modules, "minerva_core.optimisation", None)  # import fails
    savings = get(client, "analytics/costs")["savings"]
    assert (savings["available"], savings["items"], savings["report"]) == (False, [], None)
    assert "not available" in savings["note"]

    def broken(conn, period_from, period_to, **options):
        raise RuntimeError("boom")

    monkeypatch.setitem(sys.modules, "minerva_core.optimisation", types.SimpleNamespace(find_savings=broken))
    body = get(client, "analytics/costs")
    assert body["savings"]["available"] is False and "RuntimeError" in body["savings"]["note"]
    assert body["budgets"]  # the rest still answers


def test_savings_from_the_optimiser(client, monkeypatch):
    @dataclass
    class Saving:
        model: str
        cheaper: str
        usd: Decimal

    @dataclass
    class Report:
        items: list
        total_usd: Decimal

    seen = {}

    def find_savings(conn, period_from, period_to, **options):
        seen["period"], seen["source"] = (period_from, period_to), options.get("source")
        return Report([Saving("openai/gpt-4o", "openai/gpt-4o-mini", Decimal("1.5000"))], Decimal("1.5000"))

    monkeypatch.setitem(sys.modules, "minerva_core.optimisation", types.SimpleNamespace(find_savings=find_savings))
    body = get(client, "analytics/costs", {"from": "2030-01-01", "to": "2030-02-01"})
    assert body["savings"]["available"] is True
    assert body["savings"]["items"] == [{"model": "openai/gpt-4o", "cheaper": "openai/gpt-4o-mini", "usd": "1.5000"}]
    assert body["savings"]["report"]["total_usd"] == "1.5000"
    assert [p.isoformat() for p in seen["period"]] == ["2030-01-01T00:00:00+00:00", "2030-02-01T00:00:00+00:00"]
    assert seen["source"] == "rollup"  # the daily savings view, never the raw ledger
