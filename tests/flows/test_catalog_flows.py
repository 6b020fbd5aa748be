"""The discover and pricing flows under Prefect's test harness, against the emulator
(a real subprocess) and real PostgreSQL."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import OPENROUTER_FIXTURES
from tests.flows.independent_counts import SNAPSHOTS_IN_DATE_ORDER, expected_counts, records
from tests.support.database import scratch_database
from tests.support.emulator import running_emulator

pytestmark = pytest.mark.slow


@pytest.fixture()
def catalog_db(monkeypatch):
    """A fresh migrated database per test: replays need an empty catalog to start from."""
    from minerva_core.db import migrate

    with scratch_database("minerva_flows") as url:
        engine = create_engine(url)
        migrate.upgrade(engine)
        monkeypatch.setenv("MINERVA_DATABASE_URL", url)
        monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
        try:
            yield engine
        finally:
            engine.dispose()
            from flows import _runtime

            for cached in (_runtime.engine_for.cache_info(),):
                pass
            _runtime.engine_for.cache_clear()


def _run_discover(snapshot: Path, monkeypatch, **params) -> dict:
    from flows.discover import discover

    with running_emulator(snapshot=str(snapshot)) as base_url:
        monkeypatch.setenv("OPENROUTER_BASE_URL", base_url)
        return discover(**params)


def _catalog_version(conn) -> int:
    return conn.execute(text("SELECT coalesce(sum(version), 0) FROM catalog_versions")).scalar()


def test_replaying_real_snapshots_counts_match_an_independent_count(prefect_harness, catalog_db, monkeypatch):
    paths = [OPENROUTER_FIXTURES / name for name in SNAPSHOTS_IN_DATE_ORDER]
    expected = expected_counts(paths)
    results = [_run_discover(p, monkeypatch, endpoints=False) for p in paths]
    for path, result, want in zip(paths, results, expected):
        assert result["status"] == "succeeded", (path.name, result)
        got = {k: result[k] for k in ("new", "repriced", "deprecated", "reactivated", "total")}
        assert got == want, path.name

    with catalog_db.connect() as conn:
        price_rows = conn.execute(text("SELECT count(*) FROM ai_model_prices")).scalar()
        assert price_rows == sum(r["new"] + r["repriced"] for r in expected)
        current = conn.execute(
            text("SELECT count(*) FROM ai_model_prices WHERE valid_to IS NULL")
        ).scalar()
        assert current == conn.execute(text("SELECT count(*) FROM ai_models")).scalar()
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM ai_models GROUP BY status")).all())
        assert statuses["active"] == expected[-1]["total"]
        jobs = conn.execute(
            text("SELECT status, new_count, repriced_count, deprecated_count FROM model_sync_jobs ORDER BY created_at")
        ).all()
        assert [(j.new_count, j.repriced_count, j.deprecated_count) for j in jobs] == [
            (w["new"], w["repriced"], w["deprecated"]) for w in expected
        ]
        # History is continuous: a closed row ends exactly where the next one begins.
        gaps = conn.execute(
            text(
                """
                SELECT count(*) FROM ai_model_prices a JOIN LATERAL (
                    SELECT valid_from FROM ai_model_prices b
                    WHERE b.model_id = a.model_id AND b.valid_from > a.valid_from
                    ORDER BY b.valid_from LIMIT 1) nxt ON true
                WHERE a.valid_to IS DISTINCT FROM nxt.valid_from
                """
            )
        ).scalar()
        assert gaps == 0


def test_rerun_with_nothing_changed_writes_no_rows(prefect_harness, catalog_db, monkeypatch):
    snapshot = OPENROUTER_FIXTURES / "models-all-modalities-2026-08-19.json"
    first = _run_discover(snapshot, monkeypatch, endpoints=True, endpoint_concurrency=8)
    assert first["status"] == "succeeded" and first["new"] == 549
    assert first["endpoints_written"] > 549
    with catalog_db.connect() as conn:
        version = _catalog_version(conn)
        models_before = conn.execute(text("SELECT max(updated_at), count(*) FROM ai_models")).one()
        prices_before = conn.execute(text("SELECT count(*), max(id) FROM ai_model_prices")).one()
    second = _run_discover(snapshot, monkeypatch, endpoints=False)
    assert second["status"] == "succeeded"
    assert second["unchanged"] == 549 and second["models_written"] == 0 and second["prices_written"] == 0
    with catalog_db.connect() as conn:
        assert conn.execute(text("SELECT max(updated_at), count(*) FROM ai_models")).one() == models_before
        assert conn.execute(text("SELECT count(*), max(id) FROM ai_model_prices")).one() == prices_before
        assert _catalog_version(conn) == version, "an unchanged re-run must not wake the proxy"
        job = conn.execute(
            text("SELECT status, progress_done, progress_total, flow_run_id FROM model_sync_jobs ORDER BY created_at DESC LIMIT 1")
        ).one()
        assert job.status == "succeeded" and job.progress_done == job.progress_total and job.flow_run_id


def _poisoned(tmp_path: Path, name: str, poison) -> Path:
    body = json.loads((OPENROUTER_FIXTURES / "models-2026-08-19.json").read_text())
    poison(body["data"])
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(body))
    return path


def _negative_price(data):
    data[3]["pricing"]["prompt"] = "-0.000001"


def _duplicate_id(data):
    data.append(copy.deepcopy(data[5]))


def _missing_prompt(data):
    del data[7]["pricing"]["prompt"]


def _absurd_context(data):
    data[9]["context_length"] = 10**12


@pytest.mark.parametrize("poison", [_negative_price, _duplicate_id, _missing_prompt, _absurd_context])
def test_poisoned_snapshot_is_quarantined_and_live_catalog_unchanged(prefect_harness, catalog_db, monkeypatch, tmp_path, poison):
    good = OPENROUTER_FIXTURES / "models-2026-05-01-sorted-data-array.json"
    assert _run_discover(good, monkeypatch, endpoints=False)["status"] == "succeeded"
    with catalog_db.connect() as conn:
        live_before = conn.execute(text("SELECT id, status, content_hash FROM ai_models ORDER BY id")).all()
        prices_before = conn.execute(text("SELECT * FROM ai_model_prices ORDER BY id")).all()
        version = _catalog_version(conn)

    result = _run_discover(_poisoned(tmp_path, poison.__name__, poison), monkeypatch, endpoints=False)
    assert result["status"] == "quarantined"

    with catalog_db.connect() as conn:
        assert conn.execute(text("SELECT id, status, content_hash FROM ai_models ORDER BY id")).all() == live_before
        assert conn.execute(text("SELECT * FROM ai_model_prices ORDER BY id")).all() == prices_before
        assert _catalog_version(conn) == version
        job = conn.execute(
            text("SELECT status, quarantine_reason, quarantined_count FROM model_sync_jobs ORDER BY created_at DESC LIMIT 1")
        ).one()
        assert job.status == "quarantined" and job.quarantine_reason and job.quarantined_count > 0
        held = conn.execute(text("SELECT failed_expectations, row_count FROM catalog_quarantine")).one()
        assert held.row_count > 0 and held.failed_expectations
        alert = conn.execute(text("SELECT kind, severity FROM alert_events WHERE source = 'system'")).one()
        assert alert.kind == "catalog.quarantined" and alert.severity == "critical"


def test_pricing_flow_writes_only_price_changes(prefect_harness, catalog_db, monkeypatch, tmp_path):
    base = OPENROUTER_FIXTURES / "models-2026-08-19.json"
    assert _run_discover(base, monkeypatch, endpoints=False)["status"] == "succeeded"
    body = json.loads(base.read_text())
    target = body["data"][0]
    target["pricing"]["prompt"] = str(2 * float(target["pricing"]["prompt"]) or "0.000001")
    target["name"] = "renamed, which pricing must ignore"
    newcomer = copy.deepcopy(body["data"][1])
    newcomer["id"] = "minerva-test/new-model"
    body["data"].append(newcomer)
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(body))

    from flows.pricing import pricing

    with running_emulator(snapshot=str(changed)) as base_url:
        monkeypatch.setenv("OPENROUTER_BASE_URL", base_url)
        result = pricing()
    assert result["status"] == "succeeded"
    assert result["repriced"] == 1 and result["new"] == 0 and result["prices_written"] == 1
    with catalog_db.connect() as conn:
        history = conn.execute(
            text("SELECT prompt, valid_to FROM ai_model_prices WHERE model_id = :id ORDER BY valid_from"),
            {"id": target["id"]},
        ).all()
        assert len(history) == 2 and history[0].valid_to is not None and history[1].valid_to is None
        assert str(history[1].prompt.normalize()) == str(__import__("decimal").Decimal(target["pricing"]["prompt"]).normalize())
        name = conn.execute(text("SELECT name FROM ai_models WHERE id = :id"), {"id": target["id"]}).scalar()
        assert name != target["name"]
        assert conn.execute(text("SELECT count(*) FROM ai_models WHERE id = 'minerva-test/new-model'")).scalar() == 0
