"""The reconcile flow under Prefect's test harness, against the emulator and real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.reconciliation import scenario as sc
from tests.support.emulator import running_emulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def traffic(recon_engine):
    with running_emulator(seed=5, generation_delay_ms=0, prompt_cache=False) as base_url:
        yield sc.make_scenario(base_url, recon_engine)


@pytest.fixture()
def flow_setup(engine, traffic, recon_env):
    recon_env.setenv("OPENROUTER_BASE_URL", traffic.base_url)
    traffic.write_ledger(engine)
    return traffic


def _items(engine, run_id):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            text("SELECT classification, generation_id, model, ledger_request_id FROM reconciliation_items "
                 "WHERE run_id = :r"), {"r": run_id})]


def _artifacts(keys):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=list(keys))))


def test_flow_with_csv_and_activity(prefect_harness, flow_setup, engine, tmp_path):
    from flows.reconcile import reconcile

    traffic = flow_setup
    bill = tmp_path / "export.csv"
    bill.write_bytes(traffic.csv_bill())
    day_from, day_to = traffic.days
    result = reconcile(day_from.isoformat(), day_to.isoformat(), bill_files=[str(bill)], fetch_activity=True,
                       out_dir=str(tmp_path / "out"))
    assert result["status"] == "succeeded" and len(result["imports"]) == 2
    assert sc.item_classes(_items(engine, result["run_id"]), "generation") == sc.expected_generation_level(traffic)
    assert set(result["reports"]) == {"csv", "parquet", "html"}
    html = (tmp_path / "out" / f"reconciliation_{day_from}_{day_to}.html").read_text()
    assert "set aside" in html and "Price drift" in html
    artifacts = _artifacts(["reconciliation-summary", "reconciliation-discrepancies"])
    assert {a.key for a in artifacts} == {"reconciliation-summary", "reconciliation-discrepancies"}
    summary = next(a for a in artifacts if a.key == "reconciliation-summary")
    assert "| missing_in_ledger | 1 |" in summary.data


def test_flow_with_activity_only_and_rerun_replaces(prefect_harness, flow_setup, engine, tmp_path):
    from flows.reconcile import reconcile

    day_from, day_to = (d.isoformat() for d in flow_setup.days)
    first = reconcile(day_from, day_to, out_dir=str(tmp_path))
    again = reconcile(day_from, day_to, out_dir=str(tmp_path))
    assert first["imports"] == again["imports"]  # the same /activity fetched twice: one import
    assert again["replaced_runs"] == 1
    items = _items(engine, again["run_id"])
    assert sc.item_classes(items, "aggregate") == sc.expected_aggregate_level(faults=False)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reconciliation_runs")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM bill_imports")).scalar_one() == 1


def test_flow_with_a_bad_bill_fails_and_records_the_failure(prefect_harness, flow_setup, engine, tmp_path):
    from flows.reconcile import reconcile

    bill = tmp_path / "bad.csv"
    good = flow_setup.csv_bill()
    bad_line = good.count(b"\n") + 1  # after the header and every good row
    bill.write_bytes(good + b"gen-x,not-a-time,1,,,,,1,1,0,0,m,p,standard,false,false,,,,,,false,k,\n")
    day_from, day_to = (d.isoformat() for d in flow_setup.days)
    with pytest.raises(Exception) as error:
        reconcile(day_from, day_to, bill_files=[str(bill)], fetch_activity=False, out_dir=str(tmp_path))
    assert "column 'created_at'" in str(error.value) and f"line {bad_line}," in str(error.value)
    with engine.connect() as conn:
        run = conn.execute(text("SELECT status, error FROM reconciliation_runs")).one()
        assert run.status == "failed" and "created_at" in run.error
        assert conn.execute(text("SELECT count(*) FROM bill_lines")).scalar_one() == 0


def test_scheduled_yesterday_run(prefect_harness, flow_setup, engine, tmp_path):
    from flows.reconcile import reconcile_yesterday

    result = reconcile_yesterday(out_dir=str(tmp_path))
    assert result["status"] == "succeeded" and result["period_from"] == result["period_to"]
