"""The alerts flow: measure every enabled rule, insert the events due (de-duplicated by
fingerprint and cooldown, under a lock), then deliver what is pending, the rules' events and
the system's (raise_system_alert), recording status, tries and errors. Every minute.

Thin: each task is one database or channel step and retries only on transient database
failures (lost connection, server restarting); the decisions are minerva_core.alerts'.
A rule that cannot be measured (bad scope, unknown metric) fails its own task, is reported
once per cooldown as a system alert, and does not stop the other rules.

No feature flag stops this flow (minerva_core.flags.FLOW_AREAS): it delivers the system
alerts of every area and watches budgets and spend, whatever is switched off.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import exc as sa_exc

from flows import _runtime
from minerva_core.alerts import delivery, metrics, store
from minerva_core.alerts.channels import default_channels
from minerva_core.alerts.evaluate import NewEvent
from minerva_core.alerts.rules import AlertRule, Observation
from minerva_core.errors import AlertRuleError


def retry_on_transient_db(task, task_run, state) -> bool:
    """Retry condition: the database went away (connection lost, server restarting)."""
    try:
        state.result()
    except (sa_exc.OperationalError, sa_exc.InterfaceError):
        return True
    except sa_exc.DBAPIError as exc:
        return bool(exc.connection_invalidated)
    except Exception:
        return False
    return False


_DB = {"retries": 2, "retry_delay_seconds": [2, 10], "retry_condition_fn": retry_on_transient_db, "cache_policy": NO_CACHE}


@task(name="load-alert-rules", **_DB)
def load_rules() -> list[AlertRule]:
    """Enabled rules without their channel_config: webhook URLs and addresses stay out of
    task inputs and results; delivery reads them from the table when it sends."""
    with _runtime.engine().connect() as conn:
        return [replace(rule, channel_config={}) for rule in store.load_rules(conn)]


@task(name="measure-alert-rule", task_run_name="measure-{rule.name}", **_DB)
def measure(rule: AlertRule, now: datetime) -> list[Observation]:
    with _runtime.engine().connect() as conn:
        return metrics.observe(conn, rule, now)


@task(name="fire-alert-events", **_DB)
def fire_events(
    rules: list[AlertRule], observations: dict[int, list[Observation]], now: datetime
) -> list[tuple[int, NewEvent]]:
    with _runtime.engine().begin() as conn:
        return store.fire(conn, rules, observations, now)


@task(name="report-broken-rules", **_DB)
def report_broken(broken: dict[str, str], cooldown_seconds: int, now: datetime) -> int:
    with _runtime.engine().begin() as conn:
        return sum(
            store.report_broken_rule(conn, name, error, now=now, cooldown_seconds=cooldown_seconds)
            for name, error in broken.items()
        )


@task(name="list-deliverable-alert-events", **_DB)
def deliverable(max_attempts: int) -> list[int]:
    with _runtime.engine().connect() as conn:
        return store.deliverable_ids(conn, max_attempts=max_attempts)


@task(name="deliver-alert-event", task_run_name="deliver-{event_id}", **_DB)
def deliver(event_id: int, now: datetime, max_attempts: int, system_cooldown_seconds: int) -> delivery.Outcome | None:
    with _runtime.engine().begin() as conn:
        return delivery.deliver_one(
            conn, event_id, channels=default_channels(), now=now,
            max_attempts=max_attempts, system_cooldown_seconds=system_cooldown_seconds,
        )


@flow(name="alerts")
def alerts(
    now: datetime | None = None,
    deliver_events: bool = True,
    max_delivery_attempts: int = 10,
    system_cooldown_seconds: int = 3600,
) -> dict:
    """``now`` is the evaluation instant (default: the current time; tests inject it). A
    failed event is tried again by later runs until it has used ``max_delivery_attempts``."""
    log = get_run_logger()
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    rules = load_rules()
    measured = [r for r in rules if not r.is_subscription]
    subscriptions = [r for r in rules if r.is_subscription]

    observations: dict[int, list[Observation]] = {}
    broken: dict[str, str] = {}
    for rule in measured:
        state = measure(rule, now, return_state=True)
        result = state.result(raise_on_failure=False)
        if state.is_completed():
            observations[rule.id] = result
        else:
            if isinstance(result, AlertRuleError):
                broken[rule.name] = str(result)[:500]
            else:
                broken[rule.name] = f"alert rule {rule.name!r}: {result.__class__.__name__}: {result}"[:500]
            log.error("alert rule %r not evaluated: %s", rule.name, broken[rule.name])
    fired = fire_events(measured, observations, now)
    if broken:
        report_broken(broken, system_cooldown_seconds, now)

    outcomes: list[delivery.Outcome] = []
    if deliver_events:
        for event_id in deliverable(max_delivery_attempts):
            outcome = deliver(event_id, now, max_delivery_attempts, system_cooldown_seconds)
            if outcome is not None:
                outcomes.append(outcome)

    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("delivered", "failed", "muted", "suppressed")}
    summary = {
        "rules": len(measured), "subscriptions": len(subscriptions), "broken_rules": sorted(broken),
        "fired": len(fired), "fired_muted": sum(1 for _, e in fired if e.delivery_status == "muted"), **counts,
    }
    if fired:
        create_table_artifact(
            key="alerts-fired", description="alerts: events fired by this run",
            table=[{"event": i, "kind": e.kind, "severity": e.severity, "status": e.delivery_status,
                    "message": e.message} for i, e in fired],
        )
    log.info("alerts: %s", summary)
    return summary
