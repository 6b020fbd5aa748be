"""find_savings on real PostgreSQL: the 2026-08-19 catalog normalised and stored by the
catalog code, ledger rows inserted, and the answer checked against an independent scan of
the snapshot JSON."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from minerva_core.optimisation import NO_CANDIDATE, SAVING, UNKNOWN_MODEL, find_savings
from tests.conftest import OPENROUTER_FIXTURES
from tests.gateway.support import catalog_database

SNAPSHOT = OPENROUTER_FIXTURES / "models-2026-08-19.json"
USED = "anthropic/claude-sonnet-4.5"
WHEN = datetime(2026, 10, 14, 9, 30, tzinfo=timezone.utc)
PRICE_KEYS = ("prompt", "completion", "request")


@pytest.fixture(scope="module")
def catalog_db():
    with catalog_database("minerva_savings") as url:  # migrated, with the real 2026-08-19 catalog
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("SELECT ensure_usage_ledger_partition(:t)"), {"t": WHEN})
        try:
            yield engine
        finally:
            engine.dispose()


def _key(conn, app: str | None) -> uuid.UUID:
    return conn.execute(
        text("INSERT INTO api_keys (name, key_hash, key_prefix, app) VALUES (:n, :h, 'mk_test', :a) RETURNING id"),
        {"n": f"key {app}", "h": uuid.uuid4().hex, "a": app},
    ).scalar_one()


def _ledger(conn, *, key, model, prompt, completion, cost, app=None, status="ok", seconds=0):
    conn.execute(
        text(
            "INSERT INTO usage_ledger (request_id, created_at, api_key_id, app, model_used, status, "
            "prompt_tokens, completion_tokens, cost_usd, cost_source, error_type) VALUES "
            "(:r, :t + make_interval(secs => :s), :k, :app, :m, :st, :p, :c, :cost, :src, :err)"
        ),
        {"r": uuid.uuid4().hex, "t": WHEN, "s": seconds, "k": key, "app": app, "m": model, "st": status,
         "p": prompt, "c": completion, "cost": cost, "src": None if cost is None else "response",
         "err": None if status == "ok" else "upstream"},
    )


# -- an independent reading of the snapshot: the rules of the package docstring ----------


def _quality(model) -> Decimal | None:
    aa = ((model.get("benchmarks") or {}).get("artificial_analysis") or {}).get("intelligence_index")
    return None if aa is None else min(Decimal(1), Decimal(str(aa)) / 100)


def _caps(model) -> dict[str, bool]:
    params = set(model.get("supported_parameters") or ())
    return {
        "tools": bool(params & {"tools", "tool_choice"}),
        "structured": bool(params & {"response_format", "structured_outputs"}),
    }


def _dearest(pricing, key: str, max_prompt: int) -> Decimal:
    values = [pricing.get(key)] + [
        o.get(key) for o in pricing.get("overrides") or ()
        if o.get("min_prompt_tokens") is None or max_prompt > o["min_prompt_tokens"]
    ]
    present = [Decimal(v) for v in values if v is not None]
    return max(present) if present else Decimal(0)


def expected_cheapest(used_id, *, requests, prompt, completion, max_context, max_prompt, max_completion, today):
    models = {m["id"]: m for m in json.loads(SNAPSHOT.read_text())["data"]}
    used = models[used_id]
    floor = _quality(used) - Decimal("0.05")
    need_in = set(used["architecture"]["input_modalities"])
    need_out = set(used["architecture"]["output_modalities"])
    best = None
    for model_id, m in models.items():
        pricing = m["pricing"]
        if model_id == used_id or pricing["prompt"] == "-1" or pricing["completion"] == "-1":
            continue
        if all(Decimal(pricing.get(k, "0")) == 0 for k in PRICE_KEYS):
            continue  # free
        if model_id.endswith(":batch"):
            continue  # asynchronous: no substitute for live requests
        if m.get("expiration_date") and date.fromisoformat(m["expiration_date"]) <= today:
            continue
        if not need_in <= set(m["architecture"]["input_modalities"]):
            continue
        if not need_out <= set(m["architecture"]["output_modalities"]):
            continue
        if any(_caps(used)[c] and not _caps(m)[c] for c in ("tools", "structured")):
            continue
        context = m.get("context_length") or 4096
        limit = (m.get("top_provider") or {}).get("max_completion_tokens") or context
        if context < max_context or limit < max_completion:
            continue
        quality = _quality(m)
        if quality is None or quality < floor:
            continue
        cost = (prompt * _dearest(pricing, "prompt", max_prompt)
                + completion * _dearest(pricing, "completion", max_prompt)
                + requests * _dearest(pricing, "request", max_prompt))
        if best is None or (cost, model_id) < best:
            best = (cost, model_id)
    return best


# -- the test -----------------------------------------------------------------------------


def test_find_savings_on_the_stored_catalog(catalog_db):
    rows = [  # (prompt, completion, charge) of the claude rows of app "support"
        (12_000, 800, Decimal("0.048")), (30_000, 1_500, Decimal("0.1125")),
        (2_000, 400, Decimal("0.012")), (50_000, 3_000, Decimal("0.195")),
    ]
    with catalog_db.begin() as conn:
        support, legacy = _key(conn, "support"), _key(conn, None)
        for i, (p, c, cost) in enumerate(rows):
            _ledger(conn, key=support, model=USED, prompt=p, completion=c, cost=cost, seconds=i)
        _ledger(conn, key=support, model=USED, prompt=90_000, completion=100, cost=None, seconds=9)  # no charge yet
        _ledger(conn, key=support, model=USED, prompt=1, completion=1, cost=Decimal("9"), status="error")
        _ledger(conn, key=legacy, app="etl", model="openai/gpt-4o", prompt=1_000, completion=100,
                cost=Decimal("0.0035"))  # gpt-4o has no quality score: nothing comparable
        _ledger(conn, key=legacy, model="someone/unlisted", prompt=10, completion=10, cost=Decimal("0.01"))
        _ledger(conn, key=support, model=USED, prompt=5, completion=5, cost=Decimal("1"),
                app=None, seconds=-86_400 * 30)  # outside the period
        today = conn.execute(text("SELECT (now() AT TIME ZONE 'UTC')::date")).scalar_one()

    with catalog_db.connect() as conn:
        report = find_savings(conn, date(2026, 10, 1), date(2026, 10, 31))

    actual = sum(cost for _, _, cost in rows)
    want_cost, want_model = expected_cheapest(
        USED, requests=len(rows), prompt=sum(p for p, _, _ in rows), completion=sum(c for _, c, _ in rows),
        max_context=90_100, max_prompt=90_000, max_completion=3_000, today=today,
    )
    (row,) = report.rows
    assert (row.app, row.model_used, row.status) == ("support", USED, SAVING)
    assert (row.requests, row.uncharged_requests, row.max_context_tokens) == (4, 1, 90_100)
    assert row.actual_usd == actual
    assert (row.candidate, row.candidate_usd) == (want_model, want_cost)
    assert row.saving_usd == actual - want_cost and row.saving_usd > 0
    assert isinstance(row.saving_usd, Decimal)

    assert {(r.app, r.model_used): r.status for r in report.skipped} == {
        ("etl", "openai/gpt-4o"): NO_CANDIDATE,
        ("(unattributed)", "someone/unlisted"): UNKNOWN_MODEL,
    }
    assert report.total_actual_usd == actual + Decimal("0.0035") + Decimal("0.01")
    assert [a.key for a in report.by_app] == ["support", "(unattributed)", "etl"]
    assert report.by_model[0].key == USED and report.by_model[0].saving_usd == row.saving_usd

    with catalog_db.connect() as conn:
        assert find_savings(conn, date(2026, 10, 1), date(2026, 10, 31),
                            min_saving_usd=row.saving_usd + Decimal("0.000001")).rows == ()
        september = find_savings(conn, date(2026, 9, 1), date(2026, 9, 30))
    assert [(r.app, r.requests, r.actual_usd) for r in september.rows + september.skipped] == [
        ("support", 1, Decimal("1"))
    ]
