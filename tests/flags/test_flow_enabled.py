"""flow_enabled(area): the answer and a reason a flow can log."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from minerva_core.flags import flow_enabled, set_override
from minerva_core.settings import load_settings


@pytest.fixture()
def clean(engine):
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM feature_flags"))


def test_environment_decides_without_rows(engine, clean):
    settings = load_settings({"ENABLE_OPENROUTER_ANALYTICS": "false"})
    assert flow_enabled("analytics", settings=settings, engine=engine, deployment="default") == (
        False, "ENABLE_OPENROUTER_ANALYTICS is off for deployment 'default' (environment)")
    assert flow_enabled("routing", settings=settings, engine=engine, deployment="default") == (
        True, "ENABLE_OPENROUTER_ROUTING is on for deployment 'default' (default)")


def test_database_override_decides_and_is_named(engine, clean):
    with engine.begin() as conn:
        set_override(conn, "analytics", "batch-1", False, actor="ops", note="bill import running")
    settings = load_settings({})
    with engine.connect() as conn:
        ok, reason = flow_enabled("analytics", settings=settings, conn=conn, deployment="batch-1")
    assert not ok
    assert reason == ("ENABLE_OPENROUTER_ANALYTICS is off for deployment 'batch-1' "
                      "(database override for deployment 'batch-1' by ops: bill import running)")
    assert flow_enabled("analytics", settings=settings, engine=engine, deployment="other")[0] is True


def test_unreachable_database_falls_back_to_the_environment():
    away = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 1})
    ok, reason = flow_enabled("migration", settings=load_settings({"ENABLE_OPENROUTER_MIGRATION": "true"}),
                              engine=away, deployment="default")
    assert ok is True
    assert reason.startswith("ENABLE_OPENROUTER_MIGRATION is on for deployment 'default' (environment)")
    assert "database overrides unreadable (OperationalError)" in reason
