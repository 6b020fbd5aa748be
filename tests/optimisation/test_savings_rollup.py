"""Savings from the daily rollup (mv_savings_daily) against savings from the raw ledger, on
real PostgreSQL with the 2026-08-19 catalog stored by the catalog code: for whole-day periods
the two reports are equal, field for field; the rollup answers as of its last refresh; a
key's app is read as it is now in both; and a CatalogCache reloads when the catalog changes."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from minerva_core import views
from minerva_core.errors import OptimisationInputError, SavingsNotReadyError
from minerva_core.optimisation import (
    NO_CANDIDATE,
    SAVING,
    UNATTRIBUTED,
    UNKNOWN_MODEL,
    CatalogCache,
    find_savings,
)
from tests.gateway.support import catalog_database

JUNE = datetime(2026, 6, 1, tzinfo=timezone.utc)
SONNET, TERRA, FLASH = "anthropic/claude-sonnet-4.5", "openai/gpt-5.6-terra", "google/gemini-3.7-flash"
MODELS = (SONNET, TERRA, FLASH, "openai/gpt-4o", "someone/unlisted")


@pytest.fixture(scope="module")
def engine():
    with catalog_database("minerva_savings_rollup") as url:  # migrated, with the real 2026-08-19 catalog
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("SELECT ensure_usage_ledger_partition(:t)"), {"t": JUNE})
        try:
            yield engine
        finally:
            engine.dispose()


def _key(conn, app: str | None) -> uuid.UUID:
    return conn.execute(
        text("INSERT INTO api_keys (name, key_hash, key_prefix, app) VALUES (:n, :h, 'mk_test', :a) RETURNING id"),
        {"n": f"key {uuid.uuid4().hex[:6]}", "h": uuid.uuid4().hex, "a": app},
    ).scalar_one()


def _row(conn, at: datetime, *, key, model, app=None, status="ok", prompt=1000, completion=200, reasoning=0,
         cached=0, cost: Decimal | None = Decimal("0.01")) -> None:
    conn.execute(
        text(
            "INSERT INTO usage_ledger (request_id, created_at, api_key_id, app, model_used, status, prompt_tokens, "
            "completion_tokens, reasoning_tokens, cached_tokens, cost_usd, cost_source, error_type) VALUES "
            "(:r, :t, :k, :app, :m, :st, :p, :c, :rt, :ct, :cost, :src, :err)"
        ),
        {"r": uuid.uuid4().hex, "t": at, "k": key, "app": app, "m": model, "st": status, "p": prompt,
         "c": completion, "rt": reasoning, "ct": cached, "cost": cost, "src": None if cost is None else "response",
         "err": None if status == "ok" else "upstream"},
    )


def _refresh(engine) -> None:
    with engine.connect() as conn:
        populated = dict(views.materialized_views(conn))["mv_savings_daily"]
    outcome = views.refresh_view(engine, "mv_savings_daily", populated)
    assert outcome.error is None, outcome.error


def _both(engine, period_from, period_to, **kw):
    with engine.connect() as conn:
        today = date(2026, 8, 20)
        return (find_savings(conn, period_from, period_to, today=today, limit=None, **kw),
                find_savings(conn, period_from, period_to, today=today, limit=None, source="rollup", **kw))


@pytest.fixture(scope="module")
def seeded(engine):
    """Ten June days of mixed traffic: keys with and without an app, ledger apps that
    override the key's (and an empty one), rows without a key, uncharged, failed and
    model-less rows, rows on the first and last microsecond of a day."""
    with engine.begin() as conn:
        support, nameless = _key(conn, "support"), _key(conn, None)
        for day in range(10):
            start = JUNE + timedelta(days=day)
            for n, model in enumerate(MODELS):
                big = 1 + (day * 7 + n * 3) % 11
                _row(conn, start, key=support, model=model, prompt=900 * big, completion=150 * big,
                     reasoning=40 * (day % 3), cached=100 * (day % 2), cost=Decimal("0.000137") * big * (n + 1))
                _row(conn, start + timedelta(hours=13, seconds=n), key=nameless, model=model, app="etl",
                     prompt=12_000 + day * 1000, completion=800, cost=Decimal("0.0421") + Decimal(day) / 1000)
                _row(conn, start + timedelta(days=1, microseconds=-1), key=nameless, model=model,
                     prompt=300 * big, completion=90, cost=Decimal("0.0033"))
                _row(conn, start + timedelta(hours=6), key=None, model=model, prompt=5000, completion=50 * big,
                     cost=None if day % 4 == 0 else Decimal("0.0207"))
            _row(conn, start + timedelta(hours=3), key=support, model=SONNET, app="", prompt=64_000, completion=3000,
                 cost=Decimal("0.25"))
            _row(conn, start + timedelta(hours=4), key=support, model=SONNET, status="error", prompt=1, completion=1,
                 cost=Decimal("9"))
            _row(conn, start + timedelta(hours=5), key=support, model=None, prompt=10, completion=10)
            _row(conn, start + timedelta(hours=7), key=support, model=SONNET, prompt=150_000, completion=4000,
                 cost=None)  # uncharged: no price compared, but its size sets the requirements
    _refresh(engine)
    return {"support": support, "nameless": nameless}


@pytest.mark.parametrize("period", [
    (date(2026, 6, 1), date(2026, 6, 30)),  # every day
    (date(2026, 6, 4), date(2026, 6, 4)),  # one day
    (datetime(2026, 6, 3, tzinfo=timezone.utc), datetime(2026, 6, 8, tzinfo=timezone.utc)),  # midnights
    (datetime(2026, 6, 9, 2, tzinfo=timezone(timedelta(hours=2))), date(2026, 7, 31)),  # a UTC midnight in +02:00
])
def test_rollup_savings_equal_ledger_savings(engine, seeded, period):
    ledger, rollup = _both(engine, *period)
    assert rollup == ledger
    statuses = {r.status for r in ledger.rows + ledger.skipped}
    assert {SAVING, NO_CANDIDATE, UNKNOWN_MODEL} <= statuses  # the comparison covers every path
    assert {r.app for r in ledger.rows + ledger.skipped} == {"support", "etl", UNATTRIBUTED}
    assert ledger.total_saving_usd > 0 and ledger.total_requests > 0


def test_rollup_reads_the_last_refresh_and_keys_as_they_are_now(engine, seeded):
    period = (date(2026, 6, 2), date(2026, 6, 2))
    with engine.begin() as conn:
        _row(conn, datetime(2026, 6, 2, 10, tzinfo=timezone.utc), key=seeded["support"], model=SONNET,
             prompt=2000, completion=100, cost=Decimal("1.5"))
    ledger, rollup = _both(engine, *period)
    assert ledger.total_actual_usd == rollup.total_actual_usd + Decimal("1.5")  # not refreshed yet
    _refresh(engine)
    ledger, rollup = _both(engine, *period)
    assert rollup == ledger

    with engine.begin() as conn:  # a key's app changed after the refresh: both read it as it is now
        conn.execute(text("UPDATE api_keys SET app = 'helpdesk' WHERE id = :k"), {"k": seeded["nameless"]})
    try:
        ledger, rollup = _both(engine, *period)
        assert rollup == ledger
        assert "helpdesk" in {a.key for a in rollup.by_app}
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE api_keys SET app = NULL WHERE id = :k"), {"k": seeded["nameless"]})


def test_rollup_takes_whole_utc_days_only(engine, seeded):
    with engine.connect() as conn:
        with pytest.raises(OptimisationInputError, match="UTC midnight"):
            find_savings(conn, datetime(2026, 6, 1, 12, tzinfo=timezone.utc), date(2026, 6, 5), source="rollup")
        with pytest.raises(OptimisationInputError, match="source"):
            find_savings(conn, date(2026, 6, 1), date(2026, 6, 5), source="views")


def test_catalog_cache_reloads_when_the_catalog_changes(engine, seeded):
    cache = CatalogCache()
    first, again = (_both(engine, date(2026, 6, 1), date(2026, 6, 30), cache=cache)[1] for _ in range(2))
    assert again == first and cache.loads == 1  # unchanged catalog: parsed once
    best = next(r for r in first.rows if r.model_used == SONNET)
    with engine.begin() as conn:
        conn.execute(text("UPDATE ai_models SET status = 'disabled' WHERE id = :m"), {"m": best.candidate})
    try:
        ledger, rollup = _both(engine, date(2026, 6, 1), date(2026, 6, 30), cache=cache)
        assert cache.loads == 2 and rollup == ledger
        after = next(r for r in rollup.rows + rollup.skipped
                     if (r.app, r.model_used) == (best.app, best.model_used))
        assert after.candidate != best.candidate
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE ai_models SET status = 'active' WHERE id = :m"), {"m": best.candidate})


def test_rollup_never_refreshed_is_not_ready(engine, seeded):
    with engine.connect() as conn:  # the state before the first refresh, inside a transaction undone after
        conn.execute(text("REFRESH MATERIALIZED VIEW mv_savings_daily WITH NO DATA"))
        with pytest.raises(SavingsNotReadyError, match="refresh"):
            find_savings(conn, date(2026, 6, 1), date(2026, 6, 5), source="rollup")
        conn.rollback()
    assert _both(engine, date(2026, 6, 1), date(2026, 6, 5))[1].total_requests > 0


def _every_candidate_priced(catalog, prices, used, group, policy, today):
    """The cheapest candidate by pricing every qualifying model exactly (no ordering, no
    pruning, no pool): the rules of the package docstring, one model at a time."""
    from minerva_core.errors import PricingError
    from minerva_core.optimisation.candidates import (
        Choice,
        candidate_usage,
        price_bounds,
        quality_ok,
        requirements_for,
        variant,
    )
    from minerva_core.pricing import cost_of
    from minerva_core.routing import eligibility

    mask = eligibility(catalog, requirements_for(used, group, policy), today=today, exclude_variable=True).mask
    best, qualifying = None, 0
    for model_id in catalog.ids_of(mask & ~catalog.mask_of([used.id])):
        model, pricing = catalog.get(model_id), prices.get(model_id)
        if pricing is None or (model.is_free and not policy.include_free_models):
            continue
        if variant(model_id) in policy.excluded_variants and variant(model_id) != variant(used.id):
            continue
        if not quality_ok(used, model, policy):
            continue
        try:
            cost = cost_of(price_bounds(pricing, group.max_prompt_tokens)[1], candidate_usage(group))
        except PricingError:
            continue
        qualifying += 1
        best = min(best or (cost, model_id), (cost, model_id))
    return Choice(None, None, 0) if best is None else Choice(best[1], best[0], qualifying)


def test_cheapest_candidate_equals_pricing_every_candidate(engine):
    """The pool's ordering by float estimates and early stop change nothing: on the stored
    catalog (tiered prices included), for groups of every shape, the same model, cost and
    count of qualifying candidates as pricing every one exactly."""
    import random

    from minerva_core.optimisation import CandidatePool, SavingsPolicy, UsageGroup
    from minerva_core.optimisation.candidates import cheapest_candidate
    from minerva_core.optimisation.store import load_catalog

    with engine.connect() as conn:
        catalog, prices = load_catalog(conn)
    rng, today = random.Random(7), date(2026, 8, 20)
    used_models = [m for m in catalog.models if m.id in prices and m.quality_score is not None]
    assert any(prices[m.id].overrides for m in catalog.models if m.id in prices)  # tiers are exercised
    policies = (SavingsPolicy(), SavingsPolicy(allow_unknown_quality=True, include_free_models=True))
    pools = {p: CandidatePool(catalog, prices, p) for p in policies}
    compared = found = 0
    for _ in range(400):
        used, policy = rng.choice(used_models), rng.choice(policies)
        requests = rng.randint(1, 5000)
        prompt, completion = requests * rng.randint(10, 200_000), requests * rng.randint(0, 8000)
        group = UsageGroup(
            app="a", model_used=used.id, requests=requests, actual_usd=Decimal("1"), prompt_tokens=prompt,
            completion_tokens=completion, reasoning_tokens=rng.choice([0, completion // 3]),
            cached_tokens=rng.choice([0, 0, 0, prompt // 4]), max_prompt_tokens=rng.choice([1000, 150_000, 300_000]),
            max_completion_tokens=rng.randint(0, 8000), max_context_tokens=rng.randint(1000, 400_000),
        )
        want = _every_candidate_priced(catalog, prices, used, group, policy, today)
        assert cheapest_candidate(catalog, prices, used, group, policy, today=today, pool=pools[policy]) == want
        compared, found = compared + 1, found + (want.model_id is not None)
    assert found > compared // 2


def test_rollup_savings_equal_ledger_savings_after_freezing(engine, seeded):
    """With June's days frozen into savings_daily_frozen (as the refresh flow does once the
    hourly window has left them), the rollup still gives the ledger's answer."""
    with engine.begin() as conn:
        # mv_usage_daily stores a NULL app as '', so its unique key refuses both on one day;
        # the freeze writes that view's days too, so this data keeps to NULL apps from here
        conn.execute(text("DELETE FROM usage_ledger WHERE app = ''"))
        assert views.freeze_closed_days(conn) != 0
        assert conn.execute(text("SELECT count(*) FROM savings_daily_frozen WHERE day < '2026-07-01'")).scalar_one()
    try:
        _refresh(engine)
        for period in ((date(2026, 6, 1), date(2026, 6, 30)), (date(2026, 6, 5), date(2026, 6, 6))):
            ledger, rollup = _both(engine, *period)
            assert rollup == ledger and ledger.total_requests > 0
    finally:  # back to nothing frozen, for whatever runs next
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE usage_daily_frozen, savings_daily_frozen"))
            conn.execute(text("UPDATE rollup_frozen SET through = '-infinity'"))
        _refresh(engine)
