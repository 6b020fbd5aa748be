"""The legacy export: a JSON document of the old system's per-feature direct-provider
configurations and its usage records, loaded into the staging tables legacy_provider_configs
and legacy_usage (which may also be filled by SQL or COPY directly).

    {"provider_configs": [
        {"id": "cfg-1", "feature": "support-chat", "provider_name": "openai",
         "provider_type": "openai", "model": "gpt-4o", "base_url": "https://api.openai.com/v1",
         "api_key": "sk-...", "routing_config": {}, "cost_config": {"monthly_limit_usd": "900"},
         "fallback_providers": []}],
     "usage": [
        {"id": "u-1", "occurred_at": "2026-09-30T12:00:00Z", "feature": "support-chat",
         "provider_name": "openai", "model": "gpt-4o", "prompt_tokens": 120,
         "completion_tokens": 40, "cost_usd": "0.0007", "latency_ms": 900, "ttft_ms": 300,
         "status": "ok", "error_type": null}]}

Money is a decimal string (or an integer); a JSON float is refused (not exact). Instants
carry a UTC offset. A record whose id is already loaded is left as it is (the first load
wins) and counted as already_loaded. Validation errors name the record, e.g. usage[3].cost_usd.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, text

from minerva_core.errors import LegacyExportError

PROVIDER_TYPES = ("openai", "google", "anthropic", "openrouter", "custom")
STATUSES = ("ok", "error", "cancelled", "timeout", "rate_limited")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_CONFIG_KEYS = {"id", "feature", "provider_name", "provider_type", "base_url", "model", "api_key",
                "routing_config", "cost_config", "fallback_providers"}
_USAGE_KEYS = {"id", "occurred_at", "feature", "provider_name", "model", "prompt_tokens", "completion_tokens",
               "cost_usd", "latency_ms", "ttft_ms", "status", "error_type"}


def _fail(where: str, message: str) -> LegacyExportError:
    return LegacyExportError(f"{where}: {message}", param="export")


def _str(rec: dict, key: str, where: str, *, required: bool = True, pattern: re.Pattern | None = None,
         max_len: int = 500) -> str | None:
    value = rec.get(key)
    if value is None:
        if required:
            raise _fail(f"{where}.{key}", "is required")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise _fail(f"{where}.{key}", f"must be a non-empty string of at most {max_len} characters")
    if pattern is not None and not pattern.match(value):
        raise _fail(f"{where}.{key}", "must be lower-case letters, digits, '.', '_' or '-' (at most 63)")
    return value


def _count(rec: dict, key: str, where: str) -> int | None:
    value = rec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise _fail(f"{where}.{key}", "must be a non-negative integer")
    return value


def _object(rec: dict, key: str, where: str) -> str:
    value = rec.get(key) or {}
    if not isinstance(value, dict):
        raise _fail(f"{where}.{key}", "must be a JSON object")
    return json.dumps(value)


def _config(rec: Any, i: int) -> dict[str, Any]:
    where = f"provider_configs[{i}]"
    if not isinstance(rec, dict):
        raise _fail(where, "must be an object")
    if set(rec) - _CONFIG_KEYS:
        raise _fail(where, f"unknown field(s): {', '.join(sorted(set(rec) - _CONFIG_KEYS))}")
    ptype = _str(rec, "provider_type", where)
    if ptype not in PROVIDER_TYPES:
        raise _fail(f"{where}.provider_type", f"must be one of {', '.join(PROVIDER_TYPES)}")
    base_url = _str(rec, "base_url", where, required=False)
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise _fail(f"{where}.base_url", "must start with http:// or https://")
    fallbacks = rec.get("fallback_providers") or []
    if not isinstance(fallbacks, list) or not all(isinstance(f, str) and _NAME.match(f) for f in fallbacks):
        raise _fail(f"{where}.fallback_providers", "must be a list of provider names")
    return {
        "id": _str(rec, "id", where, max_len=190), "feature": _str(rec, "feature", where, pattern=_NAME),
        "provider_name": _str(rec, "provider_name", where, pattern=_NAME), "provider_type": ptype,
        "base_url": base_url, "model": _str(rec, "model", where), "api_key": _str(rec, "api_key", where, required=False, max_len=4000),
        "routing_config": _object(rec, "routing_config", where), "cost_config": _object(rec, "cost_config", where),
        "fallback_providers": fallbacks,
    }


def _usage(rec: Any, i: int) -> dict[str, Any]:
    where = f"usage[{i}]"
    if not isinstance(rec, dict):
        raise _fail(where, "must be an object")
    if set(rec) - _USAGE_KEYS:
        raise _fail(where, f"unknown field(s): {', '.join(sorted(set(rec) - _USAGE_KEYS))}")
    raw_at = _str(rec, "occurred_at", where)
    try:
        occurred_at = datetime.fromisoformat(raw_at.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"{where}.occurred_at", "must be an ISO 8601 instant") from None
    if occurred_at.tzinfo is None:
        raise _fail(f"{where}.occurred_at", "must carry a UTC offset (e.g. Z)")
    cost = rec.get("cost_usd")
    if cost is not None:
        if isinstance(cost, (bool, float)):
            raise _fail(f"{where}.cost_usd", "must be a decimal string (a JSON float is not exact)")
        try:
            cost = Decimal(str(cost))
        except InvalidOperation:
            raise _fail(f"{where}.cost_usd", "must be a decimal string") from None
        if not cost.is_finite():
            raise _fail(f"{where}.cost_usd", "must be finite")
    status = rec.get("status") or "ok"
    if status not in STATUSES:
        raise _fail(f"{where}.status", f"must be one of {', '.join(STATUSES)}")
    error_type = _str(rec, "error_type", where, required=False)
    if status == "ok" and error_type is not None:
        raise _fail(f"{where}.error_type", "must be null when status is ok")
    return {
        "id": _str(rec, "id", where, max_len=190), "occurred_at": occurred_at,
        "feature": _str(rec, "feature", where, required=False), "provider_name": _str(rec, "provider_name", where),
        "model": _str(rec, "model", where), "prompt_tokens": _count(rec, "prompt_tokens", where) or 0,
        "completion_tokens": _count(rec, "completion_tokens", where) or 0, "cost_usd": cost,
        "latency_ms": _count(rec, "latency_ms", where), "ttft_ms": _count(rec, "ttft_ms", where),
        "status": status, "error_type": error_type,
    }


def parse_export(export: Any) -> tuple[list[dict], list[dict]]:
    """Validate the whole export before anything is written."""
    if not isinstance(export, dict) or set(export) - {"provider_configs", "usage"}:
        raise _fail("export", "must be an object with provider_configs and/or usage lists")
    configs, usage = export.get("provider_configs") or [], export.get("usage") or []
    if not isinstance(configs, list) or not isinstance(usage, list):
        raise _fail("export", "provider_configs and usage must be lists")
    parsed_configs = [_config(r, i) for i, r in enumerate(configs)]
    parsed_usage = [_usage(r, i) for i, r in enumerate(usage)]
    for name, rows in (("provider_configs", parsed_configs), ("usage", parsed_usage)):
        ids = [r["id"] for r in rows]
        if len(set(ids)) != len(ids):
            raise _fail(name, "ids must be unique within the export")
    features = [r["feature"] for r in parsed_configs]
    if len(set(features)) != len(features):
        raise _fail("provider_configs", "one configuration per feature")
    return parsed_configs, parsed_usage


def load_export(conn: Connection, export: Any) -> dict[str, dict[str, int]]:
    """Stage the export in legacy_provider_configs / legacy_usage; counts loaded and
    already_loaded per table."""
    configs, usage = parse_export(export)
    counts = {}
    if configs:
        inserted = conn.execute(text(
            "INSERT INTO legacy_provider_configs (id, feature, provider_name, provider_type, base_url, model, "
            "api_key, routing_config, cost_config, fallback_providers) VALUES (:id, :feature, :provider_name, "
            "CAST(:provider_type AS provider_type), :base_url, :model, :api_key, CAST(:routing_config AS jsonb), "
            "CAST(:cost_config AS jsonb), :fallback_providers) ON CONFLICT DO NOTHING"), configs).rowcount
        counts["legacy_provider_configs"] = {"loaded": inserted, "already_loaded": len(configs) - inserted}
    if usage:
        inserted = conn.execute(text(
            "INSERT INTO legacy_usage (id, occurred_at, feature, provider_name, model, prompt_tokens, "
            "completion_tokens, cost_usd, latency_ms, ttft_ms, status, error_type) VALUES (:id, :occurred_at, "
            ":feature, :provider_name, :model, :prompt_tokens, :completion_tokens, :cost_usd, :latency_ms, "
            ":ttft_ms, :status, :error_type) ON CONFLICT (id) DO NOTHING"), usage).rowcount
        counts["legacy_usage"] = {"loaded": inserted, "already_loaded": len(usage) - inserted}
    return counts


__all__ = ["load_export", "parse_export"]
