"""Building a ``Snapshot`` from the rows the loader reads. Pure.

* models: every ai_models row (deprecated and disabled too, so the router can say why it
  will not use one) with its current model-level price; a record that does not convert is
  left out with a warning, never guessed.
* prices: ``Pricing`` from the price row's raw upstream object (else its columns); a
  variable or unreadable price means no cost estimate for that model.
* health: measured from the proxy's own traffic (mv_model_performance) where the sample is
  large enough, each figure falling back to ai_model_endpoints (per model the best
  endpoint's figures); see ``merge_health``.
* strategies: the rows that validate, plus the built-ins from the code if rows are missing.
* keys: by hash; revoked keys are kept (to say "revoked").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from minerva_core.errors import MinervaError
from minerva_core.pricing import Pricing, parse_pricing
from minerva_core.routing import (
    BUILTIN_STRATEGIES,
    Catalog,
    ModelHealth,
    model_from_record,
    strategy_from_record,
)
from proxy.gateway.state import KeyInfo, Snapshot, SnapshotRows, StrategyEntry

log = logging.getLogger(__name__)
HEALTH_SAMPLE = 100  # endpoint stats aggregate many requests upstream; counts as a full sample


def health_from_endpoints(rows: Iterable[Mapping[str, Any]]) -> tuple[dict[str, ModelHealth], dict[str, set[str]]]:
    """Per model: the best endpoint's time to first token (ms), throughput and uptime (0..1),
    and the set of provider names serving it. Endpoints without figures add nothing."""
    figures: dict[str, dict[str, Any]] = {}
    providers: dict[str, set[str]] = {}
    for row in rows:
        model_id = row["model_id"]
        if row.get("provider_name"):
            providers.setdefault(model_id, set()).add(str(row["provider_name"]))
        f = figures.setdefault(model_id, {"ttft": None, "tput": None, "uptime": None})
        for name, value, pick in (("ttft", row.get("latency_p50_ms"), min),
                                  ("tput", row.get("throughput_p50"), max),
                                  ("uptime", row.get("uptime_last_30m"), max)):
            if value is not None:
                value = float(value)
                f[name] = value if f[name] is None else pick(f[name], value)
    health = {
        model_id: ModelHealth(
            ttft_ms=f["ttft"], throughput_tps=f["tput"],
            uptime=None if f["uptime"] is None else f["uptime"] / 100.0,
            requests=HEALTH_SAMPLE,
        )
        for model_id, f in figures.items()
        if any(v is not None for v in f.values())
    }
    return health, providers


MEASURED_SAMPLE = 20  # requests behind measured figures before they outrank the endpoints' stats


def merge_health(endpoints: Mapping[str, ModelHealth],
                 measured: Mapping[str, Mapping[str, Any]]) -> dict[str, ModelHealth]:
    """Per model: with at least MEASURED_SAMPLE measured requests, the measured figures
    (latency, time to first token, error rate, uptime, throughput), each missing one taken
    from the endpoints' stats; with fewer, the endpoints' figures, each missing one taken
    from the measurement. ``requests`` is the sample behind the figures that lead."""
    out = dict(endpoints)
    for model_id, fields in measured.items():
        mine, theirs = ModelHealth(**fields), endpoints.get(model_id)
        if theirs is None:
            out[model_id] = mine
            continue
        lead, other = (mine, theirs) if mine.requests >= MEASURED_SAMPLE else (theirs, mine)
        out[model_id] = ModelHealth(
            **{name: getattr(other, name) if getattr(lead, name) is None else getattr(lead, name)
               for name in ("p50_latency_ms", "p95_latency_ms", "ttft_ms", "error_rate", "uptime",
                            "throughput_tps")},
            requests=lead.requests,
        )
    return out


def _pricing(row: Mapping[str, Any]) -> Pricing | None:
    raw = row.get("pricing_raw") or {}
    if row.get("is_variable_price") or row.get("price_is_variable"):
        return None
    try:
        if raw.get("prompt") is not None and raw.get("completion") is not None:
            return parse_pricing(raw)
        if row.get("prompt") is not None and row.get("completion") is not None:
            plain = {k: str(row[k]) for k in ("prompt", "completion", "request") if row.get(k) is not None}
            return parse_pricing(plain)
    except MinervaError as exc:
        log.warning("model %s: unusable price (%s); no cost estimate for it", row.get("id"), exc)
    return None


def _record(row: Mapping[str, Any], providers: set[str] | None) -> dict[str, Any]:
    quality = row.get("quality_score")
    variable = bool(row.get("is_variable_price") or row.get("price_is_variable"))
    return {
        "id": row["id"],
        "canonical_slug": row.get("canonical_slug"),
        "upstream_provider": row.get("upstream_provider"),
        "model_family": row.get("model_family"),
        "context_length": row.get("context_length"),
        "max_completion_tokens": row.get("max_completion_tokens"),
        "input_modalities": tuple(row.get("input_modalities") or ()) or ("text",),
        "output_modalities": tuple(row.get("output_modalities") or ()) or ("text",),
        "supported_parameters": tuple(row.get("supported_parameters") or ()),
        "supports_tools": row.get("supports_tools"),
        "supports_structured_output": row.get("supports_structured_output"),
        "supports_reasoning": row.get("supports_reasoning"),
        "prompt_price": None if variable else row.get("prompt"),
        "completion_price": None if variable else row.get("completion"),
        "request_price": None if variable else row.get("request"),
        "is_variable_price": variable,
        "quality_score": None if quality is None else float(quality),
        "status": row.get("status") or "active",
        "expiration_date": row.get("expiration_date"),
        "providers": tuple(sorted(providers or ())),
    }


def _key(row: Mapping[str, Any]) -> KeyInfo:
    allowed = row.get("allowed_models")
    return KeyInfo(
        id=str(row["id"]),
        name=row.get("name") or "",
        allowed_models=None if allowed is None else frozenset(allowed),
        default_strategy=row.get("default_strategy"),
        rpm_limit=row.get("rpm_limit"),
        tpm_limit=row.get("tpm_limit"),
        budget_usd=row.get("budget_usd"),
        budget_period=row.get("budget_period"),
        queue_when_limited=bool(row.get("queue_when_limited")),
        max_queue_wait_ms=int(row.get("max_queue_wait_ms") or 0),
        app=row.get("app"),
        expires_at=row.get("expires_at"),
        revoked=row.get("revoked_at") is not None,
    )


def strategy_entries(rows: Iterable[Mapping[str, Any]]) -> dict[str, StrategyEntry]:
    """Strategies by name; a row that does not validate is skipped with a warning (the
    built-ins are always present, from the code when their rows are missing)."""
    out: dict[str, StrategyEntry] = {}
    for row in rows:
        try:
            strategy = strategy_from_record(row)
        except MinervaError as exc:
            log.warning("routing strategy %r skipped: %s", row.get("name"), exc)
            continue
        out[strategy.name] = StrategyEntry(
            strategy, row.get("alias"), int(row.get("version") or 1),
            bool(row.get("is_default")), row.get("is_enabled", True) is not False,
        )
    for name, strategy in BUILTIN_STRATEGIES.items():
        out.setdefault(name, StrategyEntry(strategy, f"minerva/{name}"))
    return out


def build_snapshot(rows: SnapshotRows, serial: int = 1, previous: Snapshot | None = None) -> Snapshot:
    """A snapshot of ``rows``; when they hold no catalog (``catalog_loaded`` False) the
    previous snapshot's catalog, prices and listing are kept (they are immutable)."""
    if not rows.catalog_loaded and previous is not None:
        catalog, prices, listing = previous.catalog, previous.prices, previous.listing
    else:
        catalog, prices, listing = _catalog(rows)
    keys = {row["key_hash"]: _key(row) for row in rows.keys}
    return Snapshot(
        catalog=catalog, prices=prices, strategies=strategy_entries(rows.strategies), keys=keys,
        listing=listing, versions=dict(rows.versions), serial=serial,
    )


def _catalog(rows: SnapshotRows) -> tuple[Catalog, dict[str, Pricing], list[dict[str, Any]]]:
    endpoint_health, providers = health_from_endpoints(rows.endpoints)
    health = merge_health(endpoint_health, rows.health)
    models = []
    prices: dict[str, Pricing] = {}
    listing = []
    for index, row in enumerate(rows.models):
        try:
            models.append(model_from_record(_record(row, providers.get(row["id"])), index))
        except MinervaError as exc:
            log.warning("model %s left out of the routing catalog: %s", row.get("id"), exc)
            continue
        pricing = _pricing(row)
        if pricing is not None:
            prices[row["id"]] = pricing
        if (row.get("status") or "active") == "active":
            created = row.get("upstream_created_at")
            listing.append({
                "id": row["id"], "object": "model",
                "created": int(created.timestamp()) if created else 0,
                "owned_by": row.get("upstream_provider") or row["id"].split("/", 1)[0],
            })
    listing.sort(key=lambda m: m["id"])
    return Catalog(models, health), prices, listing


__all__ = ["build_snapshot", "health_from_endpoints", "merge_health", "strategy_entries"]
