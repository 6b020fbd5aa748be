"""Per-arm figures from exposures + ledger, and the automatic rollback on a breach."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from minerva_core.migration import registry
from minerva_core.migration.arms import Observation, figures_from
from minerva_core.migration.evaluation import evaluate_guardrails, experiment_report
from minerva_core.migration.exposures import Exposure, record_exposures, record_feedback
from tests.migration.support import ledger_row

RAILS = {"window_minutes": 60, "min_samples": 20, "error_rate": {"max": "0.10", "max_ratio": "2"},
         "p95_latency_ms": {"max_ratio": "1.5"}}


def _start(conn, name: str):
    registry.register_feature(conn, name=name, control_provider="openai", control_model="gpt-4o",
                              treatment_model="openai/gpt-4o", guardrails=RAILS,
                              experiment={"min_samples_per_arm": 20}, actor="alice")
    return registry.set_rollout(conn, name, 50, actor="alice")


def _traffic(conn, name: str, started, arm: str, observations: list[Observation]) -> None:
    for i, o in enumerate(observations):
        rid = f"{name}-{arm}-{i}"
        at = started + timedelta(seconds=10 + i)
        record_exposures(conn, [Exposure(rid, name, arm, bucket=4000 if arm == "treatment" else 6000,
                                         rollout_bp=5000, created_at=at)])
        ledger_row(conn, rid, at, status=o.status, latency_ms=o.latency_ms, ttft_ms=o.ttft_ms,
                   cost_usd=o.cost_usd if arm == "treatment" else None,
                   cost_estimated_usd=o.cost_usd if arm == "control" else None)
        if o.quality is not None:
            record_feedback(conn, rid, score=int(o.quality * 4 + 1))


def _observations(n: int, *, errors: int, base: int, cost: str, scores: list[int]) -> list[Observation]:
    out = []
    for i in range(n):
        status = "error" if i < errors else "ok"
        latency = None if status == "error" else base + (i * 37) % 400
        quality = Decimal(scores[i % len(scores)] - 1) / 4 if i % 3 == 0 else None
        out.append(Observation(status, latency_ms=latency, ttft_ms=None if latency is None else latency // 4,
                               cost_usd=Decimal(cost) + Decimal(i) / 10**6, quality=quality))
    out.append(Observation("cancelled", latency_ms=5))
    return out


@pytest.fixture(scope="module")
def scenario(engine):
    """Two features, 50 % rolled out: one healthy, one with 20 % errors on treatment."""
    with engine.begin() as conn:
        healthy = _start(conn, "healthy-chat")
        broken = _start(conn, "broken-chat")
        obs = {
            ("healthy-chat", "control"): _observations(40, errors=1, base=1000, cost="0.0030", scores=[3, 4, 5]),
            ("healthy-chat", "treatment"): _observations(40, errors=1, base=900, cost="0.0025", scores=[4, 5]),
            ("broken-chat", "control"): _observations(40, errors=0, base=1000, cost="0.0030", scores=[4]),
            ("broken-chat", "treatment"): _observations(40, errors=8, base=1000, cost="0.0030", scores=[2]),
        }
        for (name, arm), rows in obs.items():
            _traffic(conn, name, (healthy if name == "healthy-chat" else broken).experiment_started_at, arm, rows)
    return healthy.experiment_started_at, obs


def test_sql_figures_equal_the_pure_definition(engine, scenario):
    started, obs = scenario
    with engine.connect() as conn:
        report = experiment_report(conn, "healthy-chat", started + timedelta(minutes=30))
    for arm in ("control", "treatment"):
        sql, pure = report.arms[arm], figures_from(arm, obs[("healthy-chat", arm)])
        assert (sql.requests, sql.errors) == (pure.requests, pure.errors) == (40, 1)
        assert sql.cost_mean_usd == pure.cost_mean_usd and sql.cost_total_usd == pure.cost_total_usd
        assert sql.p95_latency_ms == pure.p95_latency_ms
        for attr in ("latency", "ttft", "cost", "quality"):
            a, b = getattr(sql, attr), getattr(pure, attr)
            assert a.n == b.n and math.isclose(a.mean, b.mean, rel_tol=1e-12)
            assert math.isclose(a.variance, b.variance, rel_tol=1e-9)
    assert report.arms["treatment"].quality.n == 14  # every third request has feedback
    assert report.guardrails.evaluated and not report.guardrails.breached
    assert report.comparison.verdict.winner == "treatment"  # faster, not worse elsewhere
    assert report.comparison.tests["latency_ms"].p_value < 0.05


def test_breach_rolls_back_automatically_with_an_audit_row(engine, scenario):
    started, _ = scenario
    now = started + timedelta(minutes=30)
    with engine.begin() as conn:
        outcomes = {o.feature: o for o in evaluate_guardrails(conn, now)}
    assert outcomes["healthy-chat"].rolled_back is False and outcomes["healthy-chat"].evaluated
    broken = outcomes["broken-chat"]
    assert broken.rolled_back and broken.status == "rolled_back"
    assert broken.breaches == ("error_rate 0.2 > max 0.10", "error_rate 0.2 > 2 x control 0.025")

    with engine.connect() as conn:
        feature = registry.get_feature(conn, "broken-chat")
        assert (feature.status, feature.rollout_bp, feature.status_changed_by) == ("rolled_back", 0, "guardrails")
        assert "error_rate 0.2 > max 0.10" in feature.status_reason
        row = conn.execute(text(
            "SELECT actor, action, before->>'rollout_percent' AS b, after->>'rollout_percent' AS a, reason "
            "FROM migration_audit WHERE entity = 'broken-chat' ORDER BY id DESC LIMIT 1")).one()
        assert (row.actor, row.action, row.b, row.a) == ("guardrails", "auto_rollback", "50.00", "0.00")
        assert row.reason == feature.status_reason
        assert registry.get_feature(conn, "healthy-chat").rollout_bp == 5000

    with engine.begin() as conn:  # a second pass leaves the rolled-back feature alone
        assert [o.feature for o in evaluate_guardrails(conn, now)] == ["healthy-chat"]


def test_guardrails_only_look_at_their_window(engine, scenario):
    started, _ = scenario
    with engine.begin() as conn:  # two hours later the window holds no traffic: nothing is judged
        outcomes = evaluate_guardrails(conn, started + timedelta(hours=2))
    assert [(o.feature, o.evaluated, o.rolled_back) for o in outcomes] == [("healthy-chat", False, False)]
