"""Deterministic provider endpoints per model (the real ones are not in any snapshot).

The first endpoint is priced exactly like the model's catalog entry, so a default request is
billed at the catalog price; the others cost the same or more (one of them through a
`discount`). Uptime, latency and throughput figures come from a seeded generator.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from minerva_core.emulator.catalog import CatalogModel
from minerva_core.pricing import PRICE_KEYS, Pricing, decimal_string, parse_pricing

_FIRST_PARTY = {
    "anthropic": ("Anthropic", "Amazon Bedrock", "Google"),
    "openai": ("OpenAI", "Azure"),
    "google": ("Google AI Studio", "Google"),
    "x-ai": ("xAI",),
    "mistralai": ("Mistral",),
    "deepseek": ("DeepSeek",),
    "qwen": ("Alibaba",),
    "moonshotai": ("Moonshot AI",),
    "z-ai": ("Z.AI",),
    "minimax": ("Minimax",),
    "cohere": ("Cohere",),
    "amazon": ("Amazon Bedrock",),
    "perplexity": ("Perplexity",),
    "nvidia": ("Nvidia",),
    "inception": ("Inception",),
    "stepfun": ("StepFun",),
}
_OPEN_HOSTS = (
    "DeepInfra", "Together", "Fireworks", "Novita", "Parasail", "Nebius", "Chutes",
    "SiliconFlow", "GMICloud", "BaseTen", "Groq", "Cerebras", "AtlasCloud", "Crusoe",
)
_CLOSED_AUTHORS = {"anthropic", "openai", "google", "x-ai", "perplexity", "amazon", "cohere"}
_QUANTIZATIONS = ("fp8", "bf16", "fp16", "fp4", "int8")
_PRICE_FACTORS = (Decimal("1.1"), Decimal("1.2"), Decimal("1.25"), Decimal("1.5"))
_ENDPOINT_NAMESPACE = uuid.UUID("6f1c1e5e-6a43-4c1b-9a51-6d696e657276")


@dataclass(frozen=True, slots=True)
class Endpoint:
    endpoint_id: str
    provider_name: str
    tag: str
    quantization: str | None
    raw_pricing: dict[str, Any]
    pricing: Pricing
    stats: dict[str, Any]

    def as_json(self, model: CatalogModel, *, with_latency: bool) -> dict[str, Any]:
        raw = model.raw
        short_name = raw.get("name", model.id).split(": ", 1)[-1]
        context = model.context_length or 0
        data = {
            "name": f"{self.provider_name}: {short_name}",
            "model_id": model.permaslug,
            "model_name": raw.get("name", model.id),
            "context_length": context,
            "pricing": self.raw_pricing,
            "provider_name": self.provider_name,
            "tag": self.tag,
            "quantization": self.quantization,
            "max_completion_tokens": model.max_completion_tokens,
            "max_prompt_tokens": context or None,
            "supported_parameters": raw.get("supported_parameters") or [],
            "supports_implicit_caching": self.pricing.input_cache_read is not None,
            **self.stats,
        }
        if not with_latency:
            data["latency_last_30m"] = None
            data["throughput_last_30m"] = None
        return data


class EndpointIndex:
    """Endpoints per model id, built on first use and kept."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._cache: dict[str, list[Endpoint]] = {}

    def for_model(self, model: CatalogModel) -> list[Endpoint]:
        endpoints = self._cache.get(model.id)
        if endpoints is None:
            endpoints = build_endpoints(model, self._seed)
            self._cache[model.id] = endpoints
        return endpoints


def build_endpoints(model: CatalogModel, seed: int) -> list[Endpoint]:
    if model.is_router or model.pricing is None:
        return []
    rng = random.Random(hashlib.sha256(f"{seed}\0endpoints\0{model.id}".encode()).digest())
    providers = _providers(model, rng)
    endpoints = []
    for index, provider in enumerate(providers):
        raw = dict(model.raw["pricing"]) if index == 0 else _scaled(model.raw["pricing"], rng)
        quantization = None if _author(model) in _CLOSED_AUTHORS else rng.choice(_QUANTIZATIONS)
        slug = provider.lower().replace(" ", "-").replace(".", "")
        endpoints.append(
            Endpoint(
                endpoint_id=str(uuid.uuid5(_ENDPOINT_NAMESPACE, f"{model.id}|{provider}")),
                provider_name=provider,
                tag=f"{slug}/{quantization}" if quantization else slug,
                quantization=quantization,
                raw_pricing=raw,
                pricing=parse_pricing(raw),
                stats=_stats(rng, degraded=index > 0 and rng.random() < 0.15),
            )
        )
    return endpoints


def _author(model: CatalogModel) -> str:
    return model.id.split("/", 1)[0].lstrip("~")


def _providers(model: CatalogModel, rng: random.Random) -> list[str]:
    first = list(_FIRST_PARTY.get(_author(model), ()))
    if _author(model) in _CLOSED_AUTHORS:
        pool = first
    else:
        hosts = [h for h in _OPEN_HOSTS if h not in first]
        rng.shuffle(hosts)
        pool = first + hosts
    if model.id.endswith(":free"):
        return pool[:1]
    count = 1 + rng.randrange(min(4, len(pool)))
    return pool[:count]


def _scaled(pricing: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    factor = rng.choice(_PRICE_FACTORS)
    out: dict[str, Any] = {}
    for key, value in pricing.items():
        if key in PRICE_KEYS and isinstance(value, str) and not value.startswith("-"):
            out[key] = decimal_string(Decimal(value) * factor)
        elif key == "overrides":
            out[key] = [
                {k: decimal_string(Decimal(v) * factor) if k in PRICE_KEYS else v for k, v in o.items()}
                for o in value
            ]
        else:
            out[key] = value
    if factor == Decimal("1.25"):
        out["discount"] = Decimal("0.2")  # 1.25 x 0.8: the catalog price, reached by discount
    return out


def _stats(rng: random.Random, *, degraded: bool) -> dict[str, Any]:
    uptime_floor = 80.0 if degraded else 97.0
    p50 = rng.uniform(250, 900) * (2 if degraded else 1)
    tps = rng.uniform(30, 180) / (2 if degraded else 1)
    return {
        "status": -2 if degraded else 0,
        "uptime_last_5m": round(rng.uniform(uptime_floor, 100.0), 2),
        "uptime_last_30m": round(rng.uniform(uptime_floor, 100.0), 2),
        "uptime_last_1d": round(rng.uniform(uptime_floor, 100.0), 2),
        "latency_last_30m": {
            "p50": round(p50, 1), "p75": round(p50 * 1.3, 1),
            "p90": round(p50 * 1.8, 1), "p99": round(p50 * 3.2, 1),
        },
        "throughput_last_30m": {
            "p50": round(tps, 1), "p75": round(tps * 0.85, 1),
            "p90": round(tps * 0.6, 1), "p99": round(tps * 0.3, 1),
        },
    }
