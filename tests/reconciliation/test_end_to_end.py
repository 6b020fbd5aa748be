"""End to end on real PostgreSQL and a running emulator: real generations, the ledger as the
proxy would write it, the CSV export and /activity as bills, known faults injected; the run
must find exactly those faults and nothing else, at both levels."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text

from minerva_core.billing.store import import_bill_bytes
from minerva_core.reconciliation import Period
from minerva_core.reconciliation import pipeline as p
from tests.reconciliation import scenario as sc
from tests.support.emulator import running_emulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def traffic(recon_engine):
    with running_emulator(seed=11, generation_delay_ms=0, prompt_cache=False) as base_url:
        yield sc.make_scenario(base_url, recon_engine)


def _run(engine, period, imports, out_dir):
    import uuid
    from datetime import datetime, timezone

    run_id = uuid.uuid4()
    outcome = p.compute(p.load_inputs(engine, period, [i.id for i in imports]), "0.000001")
    paths = p.write_reports(outcome, p.context_for(run_id, period, imports), out_dir, p.report_stem(period))
    p.save_run(engine, run_id=run_id, period=period, outcome=outcome, imports=imports, report_paths=paths,
               started_at=datetime.now(timezone.utc))
    return run_id, outcome, paths


def _db_items(engine, run_id):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            text("SELECT classification, generation_id, model, ledger_request_id, delta_usd, implied_price, details, "
                 "api_key_id::text AS api_key_id, bill_line_id FROM reconciliation_items WHERE run_id = :r"),
            {"r": run_id},
        )]


def test_generation_level_finds_exactly_the_injected_faults(engine, traffic, tmp_path):
    traffic.write_ledger(engine)
    period = Period(*traffic.days)
    csv = import_bill_bytes(engine, traffic.csv_bill(), file_name="openrouter-export.csv")
    activity = import_bill_bytes(engine, traffic.activity_bill(), file_name="activity.json")
    run_id, outcome, paths = _run(engine, period, [csv, activity], tmp_path)

    items = _db_items(engine, run_id)
    assert sc.item_classes(items, "generation") == sc.expected_generation_level(traffic)
    by_gen = {(i["generation_id"], i["classification"]): i for i in items}
    cent = by_gen[(traffic.one("cent").id, "amount_mismatch")]
    assert cent["delta_usd"] == Decimal("0.01")  # the generated column, bill - ledger
    lost = by_gen[(traffic.one("lost").id, "missing_in_ledger")]
    assert lost["delta_usd"] == traffic.one("lost").cost and lost["bill_line_id"] is not None
    unbilled = by_gen[(traffic.one("unbilled").id, "missing_in_bill")]
    assert unbilled["delta_usd"] == -traffic.one("unbilled").cost
    assert unbilled["api_key_id"] == str(traffic.key_ids[traffic.one("unbilled").key])

    drift_gen = traffic.one("drift")
    drift = by_gen[(drift_gen.id, "price_drift")]
    tokens = drift_gen.usage.prompt_tokens + drift_gen.usage.completion_tokens
    assert drift["delta_usd"] == 0
    assert drift["implied_price"] == (drift_gen.cost / tokens).quantize(Decimal(1).scaleb(-24))
    stale_prompt, completion = traffic.prices(drift_gen.model)
    assert Decimal(drift["details"]["catalog_prompt_price"]) == stale_prompt
    assert Decimal(drift["details"]["catalog_completion_price"]) == completion
    assert drift["model"] == drift_gen.model  # the permaslug was mapped to the id
    # anthropic/claude-sonnet-4.5:batch shares the slug: the CSV's variant "standard" decided
    assert drift["details"]["model_mapping"] == "variant"
    free = next(i for i in items if i["generation_id"] == traffic.one("free").id)
    assert free["model"] == sc.ROLES["free"] and free["details"]["model_mapping"] == "variant"

    summary = outcome.summary
    assert summary.superseded_lines == len(sc.ROLES) - 1  # the activity rows, set aside
    assert summary.by_api_key.height == 2
    with engine.connect() as conn:
        run = conn.execute(text("SELECT * FROM reconciliation_runs WHERE id = :r"), {"r": run_id}).one()
        linked = conn.execute(text("SELECT count(*) FROM reconciliation_run_imports WHERE run_id = :r"), {"r": run_id}).scalar_one()
    assert run.status == "succeeded" and linked == 2
    assert run.item_counts == {"matched": 7, "amount_mismatch": 1, "missing_in_ledger": 1, "missing_in_bill": 1,
                               "price_drift": 1, "duplicate": 1}
    assert run.bill_total_usd == summary.bill_total_usd and run.accuracy == summary.accuracy
    assert run.delta_usd == sum(i["delta_usd"] for i in items)
    billed = sum(g.cost for g in traffic.generations if g.role != "unbilled") + sc.CENT
    assert run.bill_total_usd == billed
    assert run.ledger_total_usd == sum(g.cost for g in traffic.generations if g.role != "lost") + traffic.one("dup").cost

    for kind in ("csv", "parquet", "html"):
        assert Path(paths[kind]).is_file() and run.report_paths[kind] == paths[kind]
    frame = pl.read_parquet(paths["parquet"])
    assert frame.height == len(items) and frame.schema["delta_usd"] == pl.Decimal(38, 24)
    csv_items = pl.read_csv(paths["csv"], infer_schema=False)
    assert "0.01" in csv_items.filter(pl.col("classification") == "amount_mismatch")["delta_usd"].to_list()


def test_activity_level_finds_exactly_the_injected_faults_and_replaces_the_run(engine, traffic, tmp_path):
    traffic.write_ledger(engine)
    period = Period(*traffic.days)
    csv = import_bill_bytes(engine, traffic.csv_bill(), file_name="openrouter-export.csv")
    first, _, _ = _run(engine, period, [csv], tmp_path)

    activity = import_bill_bytes(engine, traffic.activity_bill(), file_name="activity.json")
    run_id, outcome, _ = _run(engine, period, [activity], tmp_path)
    items = _db_items(engine, run_id)
    assert sc.item_classes(items, "aggregate") == sc.expected_aggregate_level()
    cent = next(i for i in items if i["model"] == sc.ROLES["cent"])
    assert cent["delta_usd"] == Decimal("0.01")
    assert all(i["api_key_id"] is None for i in items if i["classification"] != "duplicate")
    assert outcome.summary.superseded_lines == 0
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT id FROM reconciliation_runs")).scalars().all()
        orphans = conn.execute(text("SELECT count(*) FROM reconciliation_items WHERE run_id = :r"), {"r": first}).scalar_one()
    assert runs == [run_id] and orphans == 0  # the same period again replaced the first run


def test_unfaulted_bills_match_everything_but_the_ledger_faults(engine, traffic, tmp_path):
    """The bill as served (no bill-side faults): only the ledger's own faults remain."""
    traffic.write_ledger(engine)
    period = Period(*traffic.days)
    activity = import_bill_bytes(engine, traffic.activity_bill(faults=False), file_name="activity-clean.json")
    run_id, outcome, _ = _run(engine, period, [activity], tmp_path)
    assert sc.item_classes(_db_items(engine, run_id), "aggregate") == sc.expected_aggregate_level(faults=False)
