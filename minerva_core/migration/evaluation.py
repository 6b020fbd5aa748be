"""The two readings of an experiment: the report (figures, tests, verdict) for the admin
API, and the guardrail evaluation that rolls features back on its own.

    with engine.begin() as conn:                 # from a flow, every few minutes
        outcomes = evaluate_guardrails(conn, datetime.now(UTC))

evaluate_guardrails works in the caller's transaction, one savepoint per feature (a failure
on one feature is reported and does not stop the others); the caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from minerva_core.migration import audit
from minerva_core.migration.arms import ArmFigures
from minerva_core.migration.bucketing import CONTROL, TREATMENT
from minerva_core.migration.experiments import Comparison, compare
from minerva_core.migration.exposures import arm_figures, window
from minerva_core.migration.guardrails import GuardrailCheck, check
from minerva_core.migration.registry import ACTIVE, Feature, get_feature, rollback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExperimentReport:
    feature: Feature
    since: datetime
    until: datetime
    arms: dict[str, ArmFigures]
    guardrails: GuardrailCheck
    comparison: Comparison


def experiment_report(conn: Connection, name: str, now: datetime) -> ExperimentReport:
    """Figures since the experiment began; guardrails over their own (shorter) window."""
    feature = get_feature(conn, name)
    since, until = window(feature, now)
    arms = arm_figures(conn, name, since, until)
    rails = feature.guardrail_config
    g_since, g_until = window(feature, now, rails.window_minutes)
    g_arms = arm_figures(conn, name, g_since, g_until) if (g_since, g_until) != (since, until) else arms
    guard = check(rails, g_arms[CONTROL], g_arms[TREATMENT])
    comparison = compare(arms[CONTROL], arms[TREATMENT], feature.experiment_config, guard)
    return ExperimentReport(feature, since, until, arms, guard, comparison)


@dataclass(frozen=True)
class GuardrailOutcome:
    feature: str
    status: str  # the feature's status after the evaluation
    evaluated: bool
    rolled_back: bool
    breaches: tuple[str, ...]
    notes: tuple[str, ...]
    error: str | None = None


def evaluate_guardrails(conn: Connection, now: datetime, *, actor: str = audit.SYSTEM_ACTOR) -> list[GuardrailOutcome]:
    """Check every feature with traffic on treatment; roll back each one whose guardrails are
    breached (rollout 0 %, status rolled_back, the breaches as the reason, audited)."""
    names = conn.execute(
        text("SELECT name FROM migration_features WHERE status = ANY(:active) AND rollout_bp > 0 ORDER BY name"),
        {"active": list(ACTIVE)},
    ).scalars().all()
    outcomes = []
    for name in names:
        try:
            with conn.begin_nested():
                outcomes.append(_evaluate_one(conn, name, now, actor))
        except Exception as exc:
            log.exception("guardrails of feature %s could not be evaluated", name)
            outcomes.append(GuardrailOutcome(name, "unknown", False, False, (), (),
                                             f"{exc.__class__.__name__}: {exc}"[:300]))
    return outcomes


def _evaluate_one(conn: Connection, name: str, now: datetime, actor: str) -> GuardrailOutcome:
    feature = get_feature(conn, name, lock=True)  # an admin's change waits, or we wait for it
    if feature.status not in ACTIVE or feature.rollout_bp == 0:
        return GuardrailOutcome(name, feature.status, False, False, (), ("no longer rolling out",))
    rails = feature.guardrail_config
    since, until = window(feature, now, rails.window_minutes)
    arms = arm_figures(conn, name, since, until)
    result = check(rails, arms[CONTROL], arms[TREATMENT])
    breaches = tuple(b.describe() for b in result.breaches)
    if not result.breached:
        return GuardrailOutcome(name, feature.status, result.evaluated, False, (), result.notes)
    reason = f"guardrail breached over {since.isoformat()} .. {until.isoformat()}: " + "; ".join(breaches)
    after = rollback(conn, name, reason=reason, actor=actor, automatic=True)
    log.warning("feature %s rolled back automatically: %s", name, reason)
    return GuardrailOutcome(name, after.status, True, True, breaches, result.notes)


__all__ = ["ExperimentReport", "GuardrailOutcome", "evaluate_guardrails", "experiment_report"]
