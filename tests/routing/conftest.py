"""Fixtures for the routing tests: a literal seven-model catalog with hand-checkable figures,
and the real 549-model snapshot (2026-08-19, all modalities) with seeded synthetic health."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from minerva_core.routing import Catalog, ModelHealth, Requirements, records_from_openrouter

FIXTURES = Path(__file__).parents[1] / "fixtures" / "openrouter"
SNAPSHOT = FIXTURES / "models-all-modalities-2026-08-19.json"
RESPONSES = FIXTURES / "responses"

# P = 1000 prompt tokens, C = 500 completion tokens in most tests: costs are
#   alpha/cheap      1000 * 0.000001   + 500 * 0.000002  = 0.002
#   beta/mid         1000 * 0.000003   + 500 * 0.000015  = 0.0105
#   gamma/premium    1000 * 0.000015   + 500 * 0.000075  = 0.0525
#   delta/fast       1000 * 0.0000005  + 500 * 0.0000015 = 0.00125
#   zeta/twin        1000 * 0.000002   + 500 * 0.00001   = 0.007
#   epsilon/free:free                                      0
#   openrouter/auto  variable ("-1")
LITERAL_RECORDS: list[dict[str, Any]] = [
    {"id": "alpha/cheap", "context_length": 8_000, "max_completion_tokens": 4_000,
     "supported_parameters": ["tools", "response_format", "max_tokens", "temperature"],
     "prompt_price": "0.000001", "completion_price": "0.000002", "quality_score": 0.4},
    {"id": "beta/mid", "context_length": 200_000, "max_completion_tokens": 64_000,
     "input_modalities": ["text", "image"],
     "supported_parameters": ["tools", "response_format", "reasoning", "max_tokens", "seed"],
     "prompt_price": "0.000003", "completion_price": "0.000015", "quality_score": 0.8},
    {"id": "gamma/premium", "context_length": 200_000, "max_completion_tokens": 32_000,
     "input_modalities": ["text", "image", "file"],
     "supported_parameters": ["tools", "structured_outputs", "include_reasoning", "max_tokens"],
     "prompt_price": "0.000015", "completion_price": "0.000075", "quality_score": 0.95},
    {"id": "delta/fast", "context_length": 32_000, "supported_parameters": ["max_tokens"],
     "prompt_price": "0.0000005", "completion_price": "0.0000015"},
    {"id": "zeta/twin", "context_length": 100_000, "supported_parameters": ["tools"],
     "prompt_price": "0.000002", "completion_price": "0.00001", "quality_score": 0.8},
    {"id": "epsilon/free:free", "context_length": 32_000, "supported_parameters": ["tools"],
     "prompt_price": "0", "completion_price": "0", "quality_score": 0.3},
    {"id": "openrouter/auto", "context_length": 2_000_000, "prompt_price": "-1",
     "completion_price": "-1", "supported_parameters": ["tools", "response_format"]},
]

LITERAL_HEALTH = {
    "alpha/cheap": ModelHealth(p50_latency_ms=2000, ttft_ms=500, throughput_tps=50,
                               uptime=0.999, requests=1000),
    "beta/mid": ModelHealth(p50_latency_ms=800, ttft_ms=300, throughput_tps=100,
                            uptime=0.995, requests=1000),
    "gamma/premium": ModelHealth(p50_latency_ms=3000, ttft_ms=900, throughput_tps=40,
                                 uptime=0.98, requests=1000),
    "delta/fast": ModelHealth(p50_latency_ms=300, ttft_ms=100, throughput_tps=300,
                              uptime=0.97, requests=1000),
    "zeta/twin": ModelHealth(p50_latency_ms=1000, ttft_ms=400, throughput_tps=80,
                             uptime=0.999, requests=10),
}


def literal_catalog(**changes: dict[str, Any]) -> Catalog:
    """The literal catalog; ``changes`` maps a model id (with / as __) to field overrides."""
    records = [dict(r) for r in LITERAL_RECORDS]
    for key, fields in changes.items():
        model_id = key.replace("__", "/")
        next(r for r in records if r["id"] == model_id).update(fields)
    return Catalog.from_records(records, health=LITERAL_HEALTH)


def req(**fields: Any) -> Requirements:
    """Requirements with P = 1000, C = 500 unless given."""
    fields.setdefault("prompt_tokens", 1000)
    fields.setdefault("completion_tokens", 500)
    return Requirements(**fields)


@cache
def snapshot_payload_text() -> str:
    return SNAPSHOT.read_text(encoding="utf-8")


def snapshot_records() -> list[dict[str, Any]]:
    return records_from_openrouter(json.loads(snapshot_payload_text()))


def synthetic_health(ids: list[str], seed: int = 7) -> dict[str, ModelHealth]:
    """Seeded health for 90% of the models (the snapshot has no latency data)."""
    rng = random.Random(seed)
    health = {}
    for model_id in ids:
        if rng.random() < 0.10:
            continue
        p50 = rng.lognormvariate(7.0, 0.6)
        health[model_id] = ModelHealth(
            p50_latency_ms=round(p50, 1), ttft_ms=round(p50 * rng.uniform(0.15, 0.5), 1),
            uptime=round(rng.uniform(0.93, 1.0), 4), throughput_tps=round(rng.uniform(20, 250), 1),
            requests=rng.randint(5, 5000),
        )
    return health


@pytest.fixture(scope="session")
def snapshot_catalog() -> Catalog:
    """The 549-model snapshot without health."""
    return Catalog.from_records(snapshot_records())


@pytest.fixture(scope="session")
def snapshot_catalog_health(snapshot_catalog: Catalog) -> Catalog:
    """The 549-model snapshot with seeded synthetic health."""
    return snapshot_catalog.with_health(synthetic_health(snapshot_catalog.ids))


@pytest.fixture()
def literal() -> Catalog:
    return literal_catalog()


def request_fixture(name: str) -> dict[str, Any]:
    """The JSON body of a recorded request (responses/*-request.json)."""
    raw = json.loads((RESPONSES / name).read_text(encoding="utf-8"))
    return raw["body"]["json"]


D = Decimal
