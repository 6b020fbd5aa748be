"""Alert rules from the dashboard's forms: validate a form into alert_rules column values,
then insert, update, mute or unmute. Validation is pure (``rule_values``); every error names
its field. ``channel_config`` is write-only: a webhook URL can carry a token, so the page
never shows it back, and a blank target on edit keeps the stored one."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from minerva_core.alerts.metrics import METRICS
from minerva_core.alerts.rules import SYSTEM_SUBSCRIPTION

METRIC_NAMES = (*sorted(METRICS), SYSTEM_SUBSCRIPTION)
COMPARISONS = ("gt", "gte", "lt", "lte", "eq", "ne")
SEVERITIES = ("info", "warning", "critical")
CHANNELS = ("log", "webhook", "email")
MUTE_CHOICES = {"1h": timedelta(hours=1), "8h": timedelta(hours=8), "24h": timedelta(days=1),
                "7d": timedelta(days=7)}
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_MAX_SECONDS = 90 * 86400


class RuleFormError(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _int(raw: str, field: str, low: int, errors: dict[str, str]) -> int | None:
    if not raw.strip().isdigit() or not low <= int(raw) <= _MAX_SECONDS:
        errors[field] = f"a whole number of seconds from {low} to {_MAX_SECONDS}"
        return None
    return int(raw)


def _channel_config(channel: str, target: str, errors: dict[str, str]) -> dict[str, Any] | None:
    """The new channel_config, or None to keep the stored one (blank target)."""
    if channel == "log":
        return {}
    if not target:
        return None
    if channel == "webhook":
        if not re.match(r"^https?://[^\s/]+\S*$", target) or len(target) > 2000:
            errors["channel_target"] = "a webhook URL such as https://hooks.example.com/..."
        return {"url": target}
    to = [a.strip() for a in re.split(r"[,;\s]+", target) if a.strip()]
    if not to or len(to) > 20 or not all(_EMAIL.match(a) for a in to):
        errors["channel_target"] = "one or more e-mail addresses, separated by commas"
    return {"to": to}


def rule_values(form: Any, *, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Column values from a rule form (create when ``current`` is None)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    name = form.text("name")
    if not name or len(name) > 100:
        errors["name"] = "1 to 100 characters"
    values["name"] = name
    values["description"] = form.text("description")[:500] or None
    for field, allowed in (("metric", METRIC_NAMES), ("comparison", COMPARISONS), ("severity", SEVERITIES),
                           ("channel", CHANNELS)):
        value = form.text(field)
        if value not in allowed:
            errors[field] = f"one of {', '.join(allowed)}"
        values[field] = value
    try:
        threshold = Decimal(form.text("threshold"))
        if not threshold.is_finite():
            raise InvalidOperation
        values["threshold"] = threshold
    except InvalidOperation:
        errors["threshold"] = 'a decimal number such as "50" or "0.05"'
    values["window_seconds"] = _int(form.text("window_seconds", "3600"), "window_seconds", 1, errors)
    values["cooldown_seconds"] = _int(form.text("cooldown_seconds", "3600"), "cooldown_seconds", 0, errors)
    scope_text = form.text("scope") or "{}"
    try:
        scope = json.loads(scope_text)
    except ValueError:
        scope = None
    if isinstance(scope, dict):
        values["scope"] = scope
    else:
        errors["scope"] = 'a JSON object such as {"model": "openai/gpt-4o"} (or empty)'
    config = _channel_config(values["channel"], form.text("channel_target"), errors)
    if config is None and (current is None or current["channel"] != values["channel"]):
        errors.setdefault("channel_target", f"the {values['channel']} channel needs a target")
    if config is not None:
        values["channel_config"] = config
    values["enabled"] = form.flag("enabled")
    if errors:
        raise RuleFormError(errors)
    return values


def _params(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in ("scope", "channel_config"):
        if key in out:
            out[key] = json.dumps(out[key])
    return out


def _cast(column: str) -> str:
    return f"CAST(:{column} AS jsonb)" if column in ("scope", "channel_config") else f":{column}"


def create_rule(conn: Connection, values: dict[str, Any]) -> int:
    columns = list(values)
    try:
        return conn.execute(text(
            f"INSERT INTO alert_rules ({', '.join(columns)}) VALUES ({', '.join(_cast(c) for c in columns)}) "
            "RETURNING id"), _params(values)).scalar_one()
    except IntegrityError:
        raise RuleFormError({"name": "a rule with this name already exists"}) from None


def update_rule(conn: Connection, rule_id: int, values: dict[str, Any]) -> None:
    sets = ", ".join(f"{c} = {_cast(c)}" for c in values)
    try:
        conn.execute(text(f"UPDATE alert_rules SET {sets} WHERE id = :_id"), {**_params(values), "_id": rule_id})
    except IntegrityError:
        raise RuleFormError({"name": "a rule with this name already exists"}) from None


def mute_rule(conn: Connection, rule_id: int, duration: str) -> bool:
    if duration not in MUTE_CHOICES:
        raise RuleFormError({"duration": f"one of {', '.join(MUTE_CHOICES)}"})
    return conn.execute(text("UPDATE alert_rules SET muted_until = now() + :d WHERE id = :id"),
                        {"d": MUTE_CHOICES[duration], "id": rule_id}).rowcount == 1


def unmute_rule(conn: Connection, rule_id: int) -> bool:
    return conn.execute(text("UPDATE alert_rules SET muted_until = NULL WHERE id = :id"),
                        {"id": rule_id}).rowcount == 1


__all__ = ["CHANNELS", "COMPARISONS", "METRIC_NAMES", "MUTE_CHOICES", "SEVERITIES", "RuleFormError",
           "create_rule", "mute_rule", "rule_values", "unmute_rule", "update_rule"]
