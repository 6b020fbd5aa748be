"""Every flow under Prefect's test harness with its area's flag off (a database override or
the environment): it returns a skip, writes nothing, calls no upstream, and logs why
through the Prefect run logger."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from deployments.schedules import deployment_specs
from minerva_core.catalog_admin import queue_sync_job
from minerva_core.flags import FLOW_AREAS, delete_override, set_override
from tests.flows.run_logs import run_logs_since
from tests.migration.support import migrated_database

# Any request to this upstream fails at once: a flow that ran would fail or record it.
NOWHERE = "http://127.0.0.1:1/api/v1"
PROVIDER = "ENABLE_OPENROUTER_PROVIDER"


@pytest.fixture(scope="module")
def flows_db() -> Iterator[tuple[str, Engine]]:
    with migrated_database("minerva_flow_flags") as db:
        yield db


@pytest.fixture()
def env(flows_db, monkeypatch):
    from flows import _runtime

    url, engine = flows_db
    monkeypatch.setenv("MINERVA_DATABASE_URL", url)
    monkeypatch.setenv("OPENROUTER_BASE_URL", NOWHERE)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    monkeypatch.delenv("MINERVA_DEPLOYMENT", raising=False)
    for name in ("PROVIDER", "ROUTING", "ANALYTICS", "MIGRATION"):
        monkeypatch.delenv(f"ENABLE_OPENROUTER_{name}", raising=False)
    yield engine
    _runtime.engine_for.cache_clear()


@pytest.fixture()
def provider_off(env):
    """ENABLE_OPENROUTER_PROVIDER off for every deployment, by a database override whose
    note is unique to the test (so is the reason the flow logs)."""
    note = f"upstream incident {uuid.uuid4().hex[:8]}"
    with env.begin() as conn:
        set_override(conn, "provider", "*", False, actor="ops", note=note)
    yield env, note
    with env.begin() as conn:
        delete_override(conn, "provider", "*", actor="ops")


def database_state(engine: Engine) -> dict[str, int]:
    """Row count of every table, and the catalog version counters (bumped by any write)."""
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1")).scalars().all()
        state = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
        state["catalog_versions.sum"] = conn.execute(
            text("SELECT coalesce(sum(version), 0) FROM catalog_versions")).scalar_one()
    return state


def skip_logged(since: datetime, reason: str) -> bool:
    """The run logger sent the skip, with its reason, to the Prefect API as a warning."""
    return (logging.WARNING, f"skipped: {reason}") in run_logs_since(since)


def test_every_deployed_flow_has_an_area_decided():
    assert {spec["name"] for spec in deployment_specs()} == set(FLOW_AREAS)


def _discover():
    from flows.discover import discover

    return discover(endpoints=False)


def _pricing():
    from flows.pricing import pricing

    return pricing()


def _backfill():
    from flows.backfill import backfill_costs

    return backfill_costs(max_wait_seconds=0)


def _reconcile():
    from flows.reconcile import reconcile_yesterday

    return reconcile_yesterday()


@pytest.mark.parametrize("run", [_discover, _pricing, _backfill, _reconcile], ids=lambda f: f.__name__[1:])
def test_provider_flows_skip_on_a_database_override(prefect_harness, provider_off, run):
    engine, note = provider_off
    before, since = database_state(engine), datetime.now(UTC)
    result = run()
    reason = f"{PROVIDER} is off for deployment 'default' (database override for every deployment ('*') by ops: {note})"
    assert result == {"status": "skipped", "area": "provider", "flag": PROVIDER, "reason": reason}
    assert database_state(engine) == before
    assert skip_logged(since, reason)


def test_a_skipped_sync_job_ends_failed_with_the_reason(prefect_harness, provider_off):
    """A run started for a queued job (the admin API's) ends that job: its poller sees why."""
    from flows.discover import discover

    engine, _ = provider_off
    since = datetime.now(UTC)
    with engine.begin() as conn:
        job = queue_sync_job(conn, "discover", requested_by="test")
    result = discover(job_id=str(job.id))
    assert result["status"] == "skipped" and result["job_id"] == str(job.id)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, error, new_count FROM model_sync_jobs WHERE id = :id"),
                           {"id": job.id}).one()
        models = conn.execute(text("SELECT count(*) FROM ai_models")).scalar_one()
    assert (row.status, row.new_count, models) == ("failed", 0, 0)
    assert row.error == f"skipped: {result['reason']}"
    assert skip_logged(since, result["reason"])


def test_refresh_skips_views_on_the_environment_but_keeps_partitions(prefect_harness, env, monkeypatch):
    from flows.refresh import refresh

    since = datetime.now(UTC)
    monkeypatch.setenv("ENABLE_OPENROUTER_ANALYTICS", "false")
    with env.connect() as conn:
        refreshes = conn.execute(text("SELECT count(*) FROM materialized_view_refreshes")).scalar_one()
    result = refresh()
    reason = "ENABLE_OPENROUTER_ANALYTICS is off for deployment 'default' (environment)"
    assert result == {"status": "skipped", "area": "analytics", "flag": "ENABLE_OPENROUTER_ANALYTICS",
                      "reason": reason, "partitions": "ensured"}
    with env.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM materialized_view_refreshes")).scalar_one() == refreshes
        partitions = conn.execute(text(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'usage_ledger'::regclass")).scalar_one()
    assert partitions >= 2  # this month and the next, whatever the flags
    assert skip_logged(since, reason)


def test_guardrails_skip_while_migration_is_off_by_default(prefect_harness, env):
    from flows.guardrails import guardrails

    before, since = database_state(env), datetime.now(UTC)
    result = guardrails()
    reason = "ENABLE_OPENROUTER_MIGRATION is off for deployment 'default' (default)"
    assert result == {"status": "skipped", "area": "migration", "flag": "ENABLE_OPENROUTER_MIGRATION",
                      "reason": reason}
    assert database_state(env) == before
    assert skip_logged(since, reason)


def test_a_flow_runs_again_once_its_override_is_gone(prefect_harness, env):
    """The override decides per run: once it is removed the same flow does its work (its
    summary, not a skip)."""
    from flows.backfill import backfill_costs

    with env.begin() as conn:
        set_override(conn, "provider", "default", False, actor="ops")
    assert backfill_costs(max_wait_seconds=0)["status"] == "skipped"
    with env.begin() as conn:
        delete_override(conn, "provider", "default", actor="ops")
    result = backfill_costs(max_wait_seconds=0)
    assert "status" not in result and result["pending"] == 0
