"""The scheduled guardrails flow under Prefect's test harness on real PostgreSQL: a feature
whose treatment breaches its guardrails is rolled back (audited, alerted); a healthy one
keeps its rollout; a second run changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from minerva_core.migration import registry
from minerva_core.migration.exposures import Exposure, record_exposures
from tests.flows.run_logs import run_logs_since
from tests.migration.support import ledger_row, migrated_database

RAILS = {"window_minutes": 60, "min_samples": 20, "error_rate": {"max": "0.10"}}


@pytest.fixture(scope="module")
def rails_db() -> Iterator[tuple[str, Engine]]:
    with migrated_database("minerva_guardrails_flow") as db:
        yield db


def _feature(conn, name: str, errors_on_treatment: int) -> datetime:
    """A feature at 50 % with 30 requests on each arm; the treatment has that many errors."""
    registry.register_feature(conn, name=name, control_provider="openai", control_model="gpt-4o",
                              treatment_model="openai/gpt-4o", guardrails=RAILS, actor="alice")
    started = registry.set_rollout(conn, name, 50, actor="alice").experiment_started_at
    for arm, errors in (("control", 0), ("treatment", errors_on_treatment)):
        for i in range(30):
            rid, at = f"{name}-{arm}-{i}", started + timedelta(seconds=5 + i)
            record_exposures(conn, [Exposure(rid, name, arm, bucket=4000 if arm == "treatment" else 6000,
                                             rollout_bp=5000, created_at=at)])
            ledger_row(conn, rid, at, status="error" if i < errors else "ok", latency_ms=800, ttft_ms=200)
    return started


@pytest.fixture()
def scenario(rails_db, monkeypatch):
    from flows import _runtime

    url, engine = rails_db
    monkeypatch.setenv("MINERVA_DATABASE_URL", url)
    monkeypatch.setenv("ENABLE_OPENROUTER_MIGRATION", "true")
    monkeypatch.delenv("MINERVA_DEPLOYMENT", raising=False)
    with engine.begin() as conn:
        started = _feature(conn, "broken-chat", errors_on_treatment=6)  # 20 % errors > 10 %
        _feature(conn, "healthy-chat", errors_on_treatment=1)           # 3.3 %
    yield engine, started
    _runtime.engine_for.cache_clear()


def test_a_breach_is_rolled_back_by_the_flow(prefect_harness, scenario):
    from flows.guardrails import guardrails

    engine, started = scenario
    now, since = started + timedelta(minutes=30), datetime.now(UTC)
    result = guardrails(now=now)
    assert result == {"status": "succeeded", "features": 2, "evaluated": ["broken-chat", "healthy-chat"],
                      "rolled_back": ["broken-chat"], "errors": {}}

    with engine.connect() as conn:
        broken = registry.get_feature(conn, "broken-chat")
        assert (broken.status, broken.rollout_bp, broken.status_changed_by) == ("rolled_back", 0, "guardrails")
        assert "error_rate 0.2 > max 0.10" in broken.status_reason
        healthy = registry.get_feature(conn, "healthy-chat")
        assert (healthy.status, healthy.rollout_bp) == ("rolling_out", 5000)
        audit = conn.execute(text(
            "SELECT actor, action, reason FROM migration_audit WHERE entity = 'broken-chat' ORDER BY id DESC LIMIT 1")).one()
        assert (audit.actor, audit.action, audit.reason) == ("guardrails", "auto_rollback", broken.status_reason)
        alerts = conn.execute(text(
            "SELECT severity, message, payload->>'feature' AS feature FROM alert_events "
            "WHERE source = 'system' AND kind = 'migration.rolled_back'")).all()
    assert [(a.severity, a.feature) for a in alerts] == [("critical", "broken-chat")]
    assert alerts[0].message == "feature broken-chat rolled back automatically: error_rate 0.2 > max 0.10"
    assert (logging.WARNING, "feature broken-chat rolled back: error_rate 0.2 > max 0.10") in run_logs_since(since)

    again = guardrails(now=now)  # the rolled-back feature is left alone; nothing new is raised
    assert (again["features"], again["rolled_back"]) == (1, [])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alert_events")).scalar_one() == 1
