"""Alerts: rules over spend, budgets, errors, latency, provider health, price changes,
quarantined catalog batches and reconciliation gaps; events de-duplicated by fingerprint
and cooldown; delivered to log, webhook (Slack-compatible) or email.

    rules.py      pure: AlertRule, Observation, comparison, fingerprint, cooldown, forecast
    evaluate.py   pure: rules + observations + recent events -> events to fire
    metrics.py    SQL: one function per metric kind -> observations
    store.py      SQL: rules, events, delivery claims and outcomes
    delivery.py   where an event goes (pure plan) and sending it there
    channels/     log, webhook, email

System events (minerva_core.alerts_system.raise_system_alert) are delivered by the same
flow (flows/alerts.py); see delivery.py for how they are routed.
The package root imports only the pure modules: importing it pulls in no I/O framework.
"""

from minerva_core.alerts.evaluate import NewEvent, PastEvent, decide
from minerva_core.alerts.rules import SYSTEM_SUBSCRIPTION, AlertRule, Observation

__all__ = ["SYSTEM_SUBSCRIPTION", "AlertRule", "NewEvent", "Observation", "PastEvent", "decide"]
