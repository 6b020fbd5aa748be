"""Independent computations of what the analytics API must answer, straight from the rows
the tests inserted (Python, no SQL, no code shared with minerva_core.analytics)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from tests.analytics.ledger_data import Run

ERROR_STATUSES = {"error", "timeout", "rate_limited"}


def status_class(status: str) -> str:
    return "ok" if status == "ok" else "cancelled" if status == "cancelled" else "error"


def bucket_of(at: datetime, bucket: str) -> datetime:
    at = at.astimezone(timezone.utc)
    if bucket == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


GROUP_FIELDS = {"key": ("api_key_id", "api_key_id"), "app": ("app", "app"), "model": ("model_used", "model"),
                "provider": ("provider_name", "provider")}


def group_value(row: dict, name: str):
    if name == "status":
        return status_class(row["status"])
    value = row[GROUP_FIELDS[name][0]]
    return None if value is None else str(value)


def spend(row: dict) -> Decimal:
    if row["cost_usd"] is not None:
        return row["cost_usd"]
    return row["cost_estimated_usd"] or Decimal(0)


def usage(rows, *, bucket, group_by, start, end, keep=lambda r: True):
    """{(bucket_start, *group values): figures} over rows in [start, end)."""
    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(lambda: 0))
    for r in rows:
        if not (start <= r["created_at"] < end) or not keep(r):
            continue
        key = (bucket_of(r["created_at"], bucket), *(group_value(r, g) for g in group_by))
        f = out[key]
        f["requests"] += 1
        f["errors"] += r["status"] in ERROR_STATUSES
        f["cancelled"] += r["status"] == "cancelled"
        f["timeouts"] += r["status"] == "timeout"
        f["rate_limited"] += r["status"] == "rate_limited"
        for name in ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens", "cache_write_tokens"):
            f[name] += r[name]
        f["total_tokens"] += r["prompt_tokens"] + r["completion_tokens"]
        f["cost_usd"] += r["cost_usd"] or Decimal(0)
        f["cost_estimated_usd"] += r["cost_estimated_usd"] or Decimal(0)
        f["spend_usd"] += spend(r)
        f["cost_unknown"] += r["cost_usd"] is None
        f["fallbacks"] += r["fallback_depth"] > 0
        f["streamed"] += r["streamed"]
        if r["latency_ms"] is not None:
            f["latency_sum"] += r["latency_ms"]
            f["latency_n"] += 1
        if r["ttft_ms"] is not None:
            f["ttft_sum"] += r["ttft_ms"]
            f["ttft_n"] += 1
    return {k: dict(v) for k, v in out.items()}


def percentile_cont(values: list[float], q: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


ALL = object()  # every provider of the model


def performance(rows, start: datetime, end: datetime, model, provider=ALL):
    """Figures of one model and provider (None: unknown provider; ALL: every provider) over [start, end)."""
    sel = [r for r in rows if start <= r["created_at"] < end and r["model_used"] == model
           and (provider is ALL or r["provider_name"] == provider)]
    if not sel:
        return None
    ok = [r for r in sel if r["status"] == "ok"]
    lat = [r["latency_ms"] for r in ok if r["latency_ms"] is not None]
    ttft = [r["ttft_ms"] for r in ok if r["ttft_ms"] is not None]
    timed = [r for r in ok if r["latency_ms"] is not None and r["ttft_ms"] is not None and r["latency_ms"] > r["ttft_ms"]]
    gen_ms = sum(r["latency_ms"] - r["ttft_ms"] for r in timed)
    errors = sum(r["status"] in ERROR_STATUSES for r in sel)
    return {
        "requests": len(sel), "errors": errors, "cancelled": sum(r["status"] == "cancelled" for r in sel),
        "error_rate": errors / len(sel), "fallback_rate": sum(r["fallback_depth"] > 0 for r in sel) / len(sel),
        "p50_latency_ms": percentile_cont(lat, 0.5), "p95_latency_ms": percentile_cont(lat, 0.95),
        "p99_latency_ms": percentile_cont(lat, 0.99), "p50_ttft_ms": percentile_cont(ttft, 0.5),
        "p95_ttft_ms": percentile_cont(ttft, 0.95), "p99_ttft_ms": percentile_cont(ttft, 0.99),
        "throughput_tps": (sum(r["completion_tokens"] for r in timed) / (gen_ms / 1000)) if gen_ms else None,
        "prompt_tokens": sum(r["prompt_tokens"] for r in sel), "completion_tokens": sum(r["completion_tokens"] for r in sel),
        "cost_usd": sum((r["cost_usd"] or Decimal(0) for r in sel), Decimal(0)),
        "spend_usd": sum((spend(r) for r in sel), Decimal(0)),
    }


def covering_run(runs: list[Run], day: date) -> Run | None:
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    covering = [r for r in runs if r.status == "succeeded" and r.period_from <= start and start + timedelta(days=1) <= r.period_to]
    return max(covering, key=lambda r: r.finished_at, default=None)


def day_of(at: datetime) -> date:
    return at.astimezone(timezone.utc).date()
