"""The guardrails flow: every migrating feature with traffic on treatment is checked against
its guardrails; a breach rolls the feature back (rollout 0 %, status rolled_back, audited
by actor ``guardrails``) and raises a critical system alert. Every minute.

Gated by ENABLE_OPENROUTER_MIGRATION (off by default): when it is off here the run is
skipped with the reason logged. The decisions are
``minerva_core.migration.evaluation.evaluate_guardrails``'s; this flow is its schedule.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import exc as sa_exc

from flows import _gate, _runtime
from minerva_core.alerts_system import raise_system_alert
from minerva_core.migration.evaluation import GuardrailOutcome, evaluate_guardrails


def retry_on_transient_db(task, task_run, state) -> bool:
    """Retry condition: the database went away (connection lost, server restarting)."""
    try:
        state.result()
    except (sa_exc.OperationalError, sa_exc.InterfaceError):
        return True
    except Exception:
        return False
    return False


@task(name="evaluate-guardrails", retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_on_transient_db,
      cache_policy=NO_CACHE)
def evaluate(now: datetime) -> list[GuardrailOutcome]:
    """One transaction: the rollbacks, their audit rows and their alerts commit together."""
    with _runtime.engine().begin() as conn:
        outcomes = evaluate_guardrails(conn, now)
        for o in outcomes:
            if o.rolled_back:
                raise_system_alert(
                    conn, kind="migration.rolled_back", severity="critical",
                    message=f"feature {o.feature} rolled back automatically: {'; '.join(o.breaches)}",
                    fingerprint=f"migration.rolled_back:{o.feature}:{now.isoformat()}",
                    payload={"feature": o.feature, "breaches": list(o.breaches), "at": now.isoformat()},
                )
        return outcomes


@flow(name="guardrails", log_prints=False)
def guardrails(now: datetime | None = None) -> dict:
    """``now`` is the evaluation instant (default: the current time; tests inject it)."""
    skipped = _gate.skip_unless("migration")
    if skipped is not None:
        return skipped
    log = get_run_logger()
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    outcomes = evaluate(now)
    for o in outcomes:
        if o.rolled_back:
            log.warning("feature %s rolled back: %s", o.feature, "; ".join(o.breaches))
        elif o.error:
            log.error("feature %s not evaluated: %s", o.feature, o.error)
    rolled_back = [o.feature for o in outcomes if o.rolled_back]
    if rolled_back:
        create_table_artifact(
            key="guardrails-rollbacks", description="guardrails: features rolled back by this run",
            table=[{"feature": o.feature, "status": o.status, "breaches": "; ".join(o.breaches)}
                   for o in outcomes if o.rolled_back],
        )
    summary = {
        "status": "succeeded", "features": len(outcomes),
        "evaluated": sorted(o.feature for o in outcomes if o.evaluated),
        "rolled_back": rolled_back,
        "errors": {o.feature: o.error for o in outcomes if o.error},
    }
    log.info("guardrails: %s", summary)
    return summary


__all__ = ["guardrails"]
