"""What a rule's scope (alert_rules.scope jsonb) may say, read strictly, and the SQL filter
fragments it makes. Pure: column names come from the caller's fixed maps, values are bound
parameters, never spliced into SQL."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from minerva_core.alerts.rules import AlertRule
from minerva_core.errors import AlertRuleError


def scope_of(rule: AlertRule, allowed: set[str]) -> dict[str, Any]:
    """The rule's scope, refused when it names a key the metric does not know: a typo
    ("modle") must not silently widen a rule to everything."""
    unknown = set(rule.scope) - allowed
    if unknown:
        raise AlertRuleError(
            f"scope keys {sorted(unknown)} are not known to {rule.metric} (known: {sorted(allowed)})",
            rule=rule.name,
        )
    return dict(rule.scope)


def scope_values(rule: AlertRule, key: str, value: Any) -> list[str]:
    """A scope value as a list of strings: "x" or ["x", "y"]; api key ids checked as UUIDs."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, (str, int)) for v in items):
        raise AlertRuleError(f"scope.{key} must be a string or a list of strings", rule=rule.name)
    if key == "api_key_id":
        try:
            return [str(uuid.UUID(str(v))) for v in items]
        except ValueError:
            raise AlertRuleError("scope.api_key_id must hold api key ids (UUIDs)", rule=rule.name) from None
    return [str(v) for v in items]


def choice(rule: AlertRule, scope: dict, key: str, options: tuple[str, ...]) -> str:
    """scope[key], one of options; the first option when absent."""
    value = scope.get(key, options[0])
    if value not in options:
        raise AlertRuleError(f"scope.{key} must be one of {list(options)}, not {value!r}", rule=rule.name)
    return value


def number(rule: AlertRule, scope: dict, key: str, default: str) -> Decimal:
    """scope[key] as a finite non-negative Decimal (min_requests, min_elapsed)."""
    try:
        value = Decimal(str(scope.get(key, default)))
    except InvalidOperation:
        raise AlertRuleError(f"scope.{key} must be a number", rule=rule.name) from None
    if not value.is_finite() or value < 0:
        raise AlertRuleError(f"scope.{key} must be a non-negative number", rule=rule.name)
    return value


def filters(rule: AlertRule, scope: dict, columns: dict[str, str], params: dict) -> str:
    """' AND col = ANY(:p)' for each scope key naming a column (api keys cast to uuid[])."""
    sql = ""
    for key, column in columns.items():
        if key in scope:
            params[key] = scope_values(rule, key, scope[key])
            array = "uuid[]" if key == "api_key_id" else "text[]"
            sql += f" AND {column} = ANY(CAST(:{key} AS {array}))"
    return sql
