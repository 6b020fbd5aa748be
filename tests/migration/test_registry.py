"""Features and their rollout on real PostgreSQL; every step audited, the audit append-only."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from minerva_core.errors import ConflictError, InvalidParameterError, ResourceNotFoundError, RolloutStateError
from minerva_core.migration import audit, registry


def _name() -> str:
    return f"feat-{uuid.uuid4().hex[:8]}"


def _register(conn, name: str, **extra):
    return registry.register_feature(conn, name=name, control_provider="openai", control_model="gpt-4o",
                                     treatment_model="openai/gpt-4o", actor="alice", **extra)


def _actions(conn, name: str) -> list[tuple]:
    rows = conn.execute(text("SELECT actor, action, before->>'status', after->>'status', after->>'rollout_percent', "
                             "reason FROM migration_audit WHERE entity_type = 'feature' AND entity = :n ORDER BY id"),
                        {"n": name}).all()
    return [tuple(r) for r in rows]


def test_lifecycle_is_audited(engine):
    name = _name()
    with engine.begin() as conn:
        f = _register(conn, name, guardrails={"error_rate": {"max": "0.05"}})
        assert (f.status, f.rollout_bp, f.treatment_provider) == ("registered", 0, "openrouter")
        assert f.guardrails == {"window_minutes": 60, "min_samples": 50, "error_rate": {"max": "0.05"}}
        f = registry.set_rollout(conn, name, 5, actor="alice", reason="canary")
        assert (f.status, f.rollout_bp) == ("rolling_out", 500) and f.experiment_started_at is not None
        started = f.experiment_started_at
        f = registry.set_rollout(conn, name, "25.5", actor="bob")
        assert (f.rollout_bp, f.experiment_started_at) == (2550, started)
        assert registry.set_rollout(conn, name, "25.50", actor="bob").version == f.version  # no change, no audit
        f = registry.pause(conn, name, actor="bob", reason="holiday")
        assert (f.status, f.rollout_bp) == ("paused", 2550)
        with pytest.raises(RolloutStateError):
            registry.set_rollout(conn, name, 50, actor="bob")
        f = registry.resume(conn, name, actor="bob")
        f = registry.set_rollout(conn, name, 100, actor="bob")
        assert f.status == "completed"
        f = registry.rollback(conn, name, reason="quality complaints", actor="carol")
        assert (f.status, f.rollout_bp, f.status_reason, f.status_changed_by) == (
            "rolled_back", 0, "quality complaints", "carol")
        with pytest.raises(RolloutStateError):
            registry.rollback(conn, name, reason="again", actor="carol")
        assert _actions(conn, name) == [
            ("alice", "register", None, "registered", "0.00", None),
            ("alice", "rollout", "registered", "rolling_out", "5.00", "canary"),
            ("bob", "rollout", "rolling_out", "rolling_out", "25.50", None),
            ("bob", "pause", "rolling_out", "paused", "25.50", "holiday"),
            ("bob", "resume", "paused", "rolling_out", "25.50", None),
            ("bob", "rollout", "rolling_out", "completed", "100.00", None),
            ("carol", "rollback", "completed", "rolled_back", "0.00", "quality complaints"),
        ]
        # Forward again after a rollback: a new experiment starts.
        again = registry.set_rollout(conn, name, 1, actor="carol")
        assert again.status == "rolling_out" and again.experiment_started_at >= started


def test_refusals(engine):
    name = _name()
    with engine.begin() as conn:
        _register(conn, name)
        with pytest.raises(ConflictError) as dup:
            _register(conn, name)
        assert dup.value.code == "feature_exists"
        with pytest.raises(RolloutStateError):
            registry.rollback(conn, name, reason="nothing to undo", actor="x")
        with pytest.raises(RolloutStateError):
            registry.pause(conn, name, actor="x")
        with pytest.raises(InvalidParameterError):
            registry.rollback(conn, name, reason="  ", actor="x")
        with pytest.raises(ResourceNotFoundError):
            registry.get_feature(conn, "no-such-feature")
        with pytest.raises(InvalidParameterError) as bad:
            registry.register_feature(conn, name=_name(), control_provider="openai", control_model="gpt-4o",
                                      treatment_model="x", experiment={"alpha": "2"}, actor="x")
        assert bad.value.code == "invalid_experiment"
        # Arms can change at 0 %, not while treatment has traffic.
        updated = registry.update_feature(conn, name, {"treatment_model": "minerva/balanced"}, actor="x")
        assert updated.treatment_model == "minerva/balanced"
        registry.set_rollout(conn, name, 10, actor="x")
        with pytest.raises(RolloutStateError):
            registry.update_feature(conn, name, {"control_model": "gpt-4o-mini"}, actor="x")
        assert registry.update_feature(conn, name, {"description": "ok"}, actor="x").description == "ok"


def test_audit_is_append_only_and_paged(engine):
    name = _name()
    with engine.begin() as conn:
        _register(conn, name)
        for p in (1, 2, 3, 4):
            registry.set_rollout(conn, name, p, actor="pager")
    with engine.connect() as conn:
        first, cursor = audit.list_entries(conn, entity_type="feature", entity=name, limit=2)
        second, cursor2 = audit.list_entries(conn, entity_type="feature", entity=name, limit=2, before_id=cursor)
        third, cursor3 = audit.list_entries(conn, entity_type="feature", entity=name, limit=2, before_id=cursor2)
        assert [e.after["rollout_percent"] for e in first + second + third] == ["4.00", "3.00", "2.00", "1.00", "0.00"]
        assert cursor3 is None
        for sql in ("UPDATE migration_audit SET actor = 'mallory'", "DELETE FROM migration_audit",
                    "TRUNCATE migration_audit"):
            with pytest.raises(DBAPIError):
                with conn.begin_nested():
                    conn.execute(text(sql))
        conn.rollback()
