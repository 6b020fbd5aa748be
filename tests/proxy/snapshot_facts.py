"""What the model browser should answer, worked out in plain Python from the snapshot file
(no Minerva code): each model's provider, capabilities, prices and sort keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class Facts:
    id: str
    name: str
    description: str
    provider: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    capabilities: frozenset[str]
    context_length: int | None
    prompt: Decimal | None  # USD per token; None when variable ("-1")
    completion: Decimal | None
    free: bool
    quality: Decimal | None
    created: int | None
    pricing: dict


def facts(path: Path) -> list[Facts]:
    body = json.loads(path.read_text())
    return [_facts(record) for record in (body["data"] if isinstance(body, dict) else body)]


def _facts(r: dict) -> Facts:
    params = set(r.get("supported_parameters") or [])
    arch = r.get("architecture") or {}
    inputs = tuple(arch.get("input_modalities") or [])
    outputs = tuple(arch.get("output_modalities") or [])
    caps = set()
    if params & {"tools", "tool_choice"}:
        caps.add("tools")
    if params & {"response_format", "structured_outputs"}:
        caps.add("structured_output")
    if params & {"reasoning", "include_reasoning"} or isinstance(r.get("reasoning"), dict):
        caps.add("reasoning")
    if "image" in inputs:
        caps.add("vision")
    if "audio" in inputs:
        caps.add("audio")
    pricing = r.get("pricing") or {}
    variable = pricing.get("prompt") == "-1" or pricing.get("completion") == "-1"
    prompt = None if variable else Decimal(pricing["prompt"])
    completion = None if variable else Decimal(pricing["completion"])
    values = [Decimal(str(v)) for k, v in pricing.items() if k != "overrides"]
    free = not variable and not pricing.get("overrides") and all(v == 0 for v in values)
    aa = ((r.get("benchmarks") or {}).get("artificial_analysis") or {}).get("intelligence_index")
    model_id = r["id"]
    return Facts(
        id=model_id,
        name=r.get("name") or model_id,
        description=r.get("description") or "",
        provider=model_id.lstrip("~").split("/")[0] if "/" in model_id else None,
        inputs=inputs,
        outputs=outputs,
        capabilities=frozenset(caps),
        context_length=r.get("context_length") or None,
        prompt=prompt,
        completion=completion,
        free=free,
        quality=None if aa is None else min(Decimal(1), Decimal(str(aa)) / 100),
        created=r.get("created"),
        pricing=pricing,
    )


SORT_VALUES = {
    "name": lambda f: f.name,
    "context_length": lambda f: f.context_length,
    "prompt_price": lambda f: f.prompt,
    "completion_price": lambda f: f.completion,
    "quality": lambda f: f.quality,
    "created": lambda f: f.created,
}


def expected_order(models: list[Facts], sort: str, descending: bool) -> list[str]:
    """The sort key with NULLs last either way, ties by id ascending (sort=id: id alone)."""
    if sort == "id":
        return sorted((f.id for f in models), reverse=descending)
    key = SORT_VALUES[sort]
    by_id = sorted(models, key=lambda f: f.id)
    present = sorted((f for f in by_id if key(f) is not None), key=key, reverse=descending)  # stable
    missing = [f for f in by_id if key(f) is None]
    return [f.id for f in present + missing]
