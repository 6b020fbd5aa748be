"""Apply a normalised catalog to PostgreSQL as a diff, in the caller's transaction.

Only what changed is written: new and changed models are upserted, a repriced model's
current price row is closed (valid_to) and a new one opened, vanished models become
deprecated (never deleted), and an unchanged model is not touched at all, so a re-run
with nothing changed writes no row and wakes no LISTENing proxy. Bulk rows go through
COPY into a temporary staging table, then one INSERT … ON CONFLICT.

`last_seen_at` is therefore the time of the last sync that saw the model *change*; a model
whose status is `active` was present in the latest successful sync.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

import polars as pl
from sqlalchemy import Connection, text

from minerva_core.catalog import PRICE_DIMENSIONS, CatalogDiff, NormalisedCatalog

_MODEL_COLUMNS = (
    "id", "canonical_slug", "name", "upstream_provider", "model_family", "description",
    "hugging_face_id", "context_length", "max_completion_tokens", "modality", "tokenizer",
    "instruct_type", "input_modalities", "output_modalities", "supported_parameters",
    "default_parameters", "supports_tools", "supports_tool_choice", "supports_structured_output",
    "supports_reasoning", "supports_vision", "supports_audio_input", "is_moderated",
    "reasoning_config", "variant", "base_model_id", "alias_target", "is_variable_price",
    "benchmarks", "quality_score", "knowledge_cutoff", "upstream_created_at", "raw",
    "content_hash", "expiration_date", "last_sync_job_id",
)
_JSON_COLUMNS = {"default_parameters", "reasoning_config", "benchmarks", "raw"}
_UPDATABLE = [c for c in _MODEL_COLUMNS if c != "id"]

_PRICE_COLUMNS = ("model_id", *PRICE_DIMENSIONS, "overrides", "is_variable", "raw", "content_hash", "sync_job_id")


def _model_rows(catalog: NormalisedCatalog, ids: frozenset[str], job_id: Any) -> list[tuple]:
    frame = catalog.models.filter(pl.col("id").is_in(list(ids)))
    variable = dict(zip(catalog.prices["id"].to_list(), catalog.prices["is_variable"].to_list()))
    rows = []
    for m in frame.iter_rows(named=True):
        raw = json.loads(m["raw"])
        inputs = m["input_modalities"] or []
        quality = m["quality_score"]
        rows.append(
            (
                m["id"], m["canonical_slug"], m["name"] or m["id"], m["upstream_provider"],
                m["model_family"], m["description"], m["hugging_face_id"],
                _positive(m["context_length"]), _positive(m["max_completion_tokens"]),
                m["modality"], m["tokenizer"], m["instruct_type"], inputs,
                m["output_modalities"] or [], m["supported_parameters"] or [],
                m["default_parameters"], m["supports_tools"], m["supports_tool_choice"],
                bool(m["supports_json"] or m["supports_structured_outputs"]),
                m["supports_reasoning"], "image" in inputs, "audio" in inputs, m["is_moderated"],
                json.dumps(raw["reasoning"]) if isinstance(raw.get("reasoning"), dict) else None,
                m["variant"], m["base_id"], m["alias_target"], bool(variable.get(m["id"], False)),
                m["benchmarks"],
                None if quality is None else min(Decimal(1), Decimal(str(quality)) / 100),
                m["knowledge_cutoff"], m["created"], m["raw"], m["metadata_hash"],
                m["expiration_date"], job_id,
            )
        )
    return rows


def _positive(value: int | None) -> int | None:
    return value if value and value > 0 else None


def _price_rows(catalog: NormalisedCatalog, ids: frozenset[str], job_id: Any) -> list[tuple]:
    frame = catalog.prices.filter(pl.col("id").is_in(list(ids)))
    raw_pricing = {
        mid: json.dumps(json.loads(raw).get("pricing") or {})
        for mid, raw in zip(catalog.models["id"].to_list(), catalog.models["raw"].to_list())
        if mid in ids
    }
    rows = []
    for p in frame.iter_rows(named=True):
        rows.append(
            (
                p["id"], *(p[d] for d in PRICE_DIMENSIONS),
                p["overrides"], p["is_variable"], raw_pricing.get(p["id"], "{}"), p["price_hash"], job_id,
            )
        )
    return rows


def _copy(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def apply_catalog(
    conn: Connection,
    catalog: NormalisedCatalog,
    diff: CatalogDiff,
    *,
    job_id: Any = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Write the diff; return the counts written. Call inside one transaction."""
    # One instant for the whole batch: a closed price row ends exactly where its successor begins.
    now = now or conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    at = {"now": now}
    now_sql = ":now"
    upsert_ids = diff.new | diff.changed | diff.reactivated
    if upsert_ids:
        conn.execute(
            text(
                f"CREATE TEMP TABLE _stage_models ON COMMIT DROP AS "
                f"SELECT {', '.join(_MODEL_COLUMNS)} FROM ai_models WITH NO DATA"
            )
        )
        _copy(conn, "_stage_models", _MODEL_COLUMNS, _model_rows(catalog, upsert_ids, job_id))
        cols = ", ".join(_MODEL_COLUMNS)
        casts = ", ".join(f"s.{c}" for c in _MODEL_COLUMNS)
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATABLE)
        conn.execute(
            text(
                f"""
                INSERT INTO ai_models AS m ({cols}, status, first_seen_at, last_seen_at)
                SELECT {casts}, 'active', {now_sql}, {now_sql} FROM _stage_models s
                ON CONFLICT (id) DO UPDATE SET {sets},
                    status = CASE WHEN m.status = 'disabled' THEN 'disabled' ELSE 'active' END,
                    deprecated_at = CASE WHEN m.status = 'disabled' THEN m.deprecated_at END,
                    last_seen_at = greatest(m.last_seen_at, EXCLUDED.last_seen_at)
                """
            ),
            at,
        )
    if diff.deprecated:
        conn.execute(
            text(
                f"UPDATE ai_models SET status = 'deprecated', deprecated_at = {now_sql}, "
                "last_sync_job_id = :job WHERE id = ANY(:ids) AND status = 'active'"
            ),
            {"ids": sorted(diff.deprecated), "job": job_id, **at},
        )
    repriced = diff.repriced | diff.new
    if repriced:
        conn.execute(
            text(
                f"UPDATE ai_model_prices SET valid_to = {now_sql} "
                "WHERE model_id = ANY(:ids) AND valid_to IS NULL AND source = 'models'"
            ),
            {"ids": sorted(repriced), **at},
        )
        conn.execute(
            text(
                f"CREATE TEMP TABLE _stage_prices ON COMMIT DROP AS "
                f"SELECT {', '.join(_PRICE_COLUMNS)} FROM ai_model_prices WITH NO DATA"
            )
        )
        _copy(conn, "_stage_prices", _PRICE_COLUMNS, _price_rows(catalog, repriced, job_id))
        cols = ", ".join(_PRICE_COLUMNS)
        conn.execute(
            text(
                f"INSERT INTO ai_model_prices ({cols}, source, valid_from) "
                f"SELECT {cols}, 'models', {now_sql} FROM _stage_prices"
            ),
            at,
        )
    return {
        **diff.counts(),
        "total": catalog.models.height,
        "models_written": len(upsert_ids) + len(diff.deprecated),
        "prices_written": len(repriced),
    }


def write_endpoints(
    conn: Connection, model_id: str, endpoints: Sequence[Mapping[str, Any]], *, job_id: Any = None
) -> int:
    """Upsert the current per-endpoint figures of one model and append an observation each."""
    written = 0
    for endpoint in endpoints:
        tag = endpoint.get("tag") or endpoint.get("provider_name") or endpoint.get("name")
        if not tag:
            continue
        latency = endpoint.get("latency_last_30m") or {}
        throughput = endpoint.get("throughput_last_30m") or {}
        params = {
            "model_id": model_id,
            "tag": tag,
            "provider_name": endpoint.get("provider_name") or tag,
            "endpoint_name": endpoint.get("name"),
            "status": endpoint.get("status"),
            "quantization": endpoint.get("quantization"),
            "context_length": _positive(endpoint.get("context_length")),
            "max_completion_tokens": _positive(endpoint.get("max_completion_tokens")),
            "max_prompt_tokens": _positive(endpoint.get("max_prompt_tokens")),
            "supported_parameters": endpoint.get("supported_parameters"),
            "implicit": endpoint.get("supports_implicit_caching"),
            "u5": endpoint.get("uptime_last_5m"),
            "u30": endpoint.get("uptime_last_30m"),
            "u1d": endpoint.get("uptime_last_1d"),
            "l50": _figure(latency, "p50"), "l75": _figure(latency, "p75"),
            "l90": _figure(latency, "p90"), "l99": _figure(latency, "p99"),
            "t50": _figure(throughput, "p50"), "t75": _figure(throughput, "p75"),
            "t90": _figure(throughput, "p90"), "t99": _figure(throughput, "p99"),
            "raw": json.dumps(endpoint, default=str),
            "job": job_id,
        }
        endpoint_id = conn.execute(
            text(
                """
                INSERT INTO ai_model_endpoints (
                    model_id, endpoint_tag, provider_name, endpoint_name, status, quantization,
                    context_length, max_completion_tokens, max_prompt_tokens, supported_parameters,
                    supports_implicit_caching, uptime_last_5m, uptime_last_30m, uptime_last_1d,
                    latency_p50_ms, latency_p75_ms, latency_p90_ms, latency_p99_ms,
                    throughput_p50, throughput_p75, throughput_p90, throughput_p99, raw, observed_at)
                VALUES (:model_id, :tag, :provider_name, :endpoint_name, :status, :quantization,
                    :context_length, :max_completion_tokens, :max_prompt_tokens, :supported_parameters,
                    :implicit, :u5, :u30, :u1d, :l50, :l75, :l90, :l99, :t50, :t75, :t90, :t99,
                    CAST(:raw AS jsonb), clock_timestamp())
                ON CONFLICT (model_id, endpoint_tag) DO UPDATE SET
                    provider_name = EXCLUDED.provider_name, endpoint_name = EXCLUDED.endpoint_name,
                    status = EXCLUDED.status, quantization = EXCLUDED.quantization,
                    context_length = EXCLUDED.context_length,
                    max_completion_tokens = EXCLUDED.max_completion_tokens,
                    max_prompt_tokens = EXCLUDED.max_prompt_tokens,
                    supported_parameters = EXCLUDED.supported_parameters,
                    supports_implicit_caching = EXCLUDED.supports_implicit_caching,
                    uptime_last_5m = EXCLUDED.uptime_last_5m, uptime_last_30m = EXCLUDED.uptime_last_30m,
                    uptime_last_1d = EXCLUDED.uptime_last_1d, latency_p50_ms = EXCLUDED.latency_p50_ms,
                    latency_p75_ms = EXCLUDED.latency_p75_ms, latency_p90_ms = EXCLUDED.latency_p90_ms,
                    latency_p99_ms = EXCLUDED.latency_p99_ms, throughput_p50 = EXCLUDED.throughput_p50,
                    throughput_p75 = EXCLUDED.throughput_p75, throughput_p90 = EXCLUDED.throughput_p90,
                    throughput_p99 = EXCLUDED.throughput_p99, raw = EXCLUDED.raw,
                    observed_at = EXCLUDED.observed_at, removed_at = NULL
                RETURNING id, observed_at
                """
            ),
            params,
        ).one()
        conn.execute(
            text(
                """
                INSERT INTO ai_model_endpoint_observations (endpoint_id, observed_at, status,
                    uptime_last_5m, uptime_last_30m, uptime_last_1d, latency_p50_ms, latency_p90_ms,
                    latency_p99_ms, throughput_p50, throughput_p90, sync_job_id)
                VALUES (:eid, :at, :status, :u5, :u30, :u1d, :l50, :l90, :l99, :t50, :t90, :job)
                ON CONFLICT DO NOTHING
                """
            ),
            {**params, "eid": endpoint_id.id, "at": endpoint_id.observed_at},
        )
        written += 1
    return written


def _figure(figures: Any, key: str) -> float | None:
    if isinstance(figures, Mapping):
        value = figures.get(key)
        return float(value) if isinstance(value, (int, float)) else None
    if isinstance(figures, (int, float)):
        return float(figures) if key == "p50" else None
    return None
