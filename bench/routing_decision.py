"""Routing decision time over the real 549-model catalog (2026-08-19, all modalities).

    uv run python bench/routing_decision.py [--decisions 20000] [--snapshot FILE]

Builds the catalog from the snapshot with a deterministic synthetic health table (the
snapshot has no latency data: 90% of models get seeded p50/ttft/throughput/uptime, 10% stay
unknown), then times ``decide`` for each strategy and three typical request shapes:

* plain chat: two short messages, no max_tokens (default 1024)
* tools + structured output: four tool definitions, a json_schema response format,
  max_tokens 2000, require_parameters
* image + large context: two images and ~150k tokens of text, max_tokens 8000, streamed

Requirements are derived once per shape (their cost is printed separately: it grows with
the prompt's size, the decision does not). Each cell runs ``--decisions`` decisions after a
warm-up and prints wall-clock p50 / p99 / mean and the p50 of thread CPU time (which leaves
out time the process spent descheduled on a busy machine), in microseconds. The request row
under each shape times ``requirements_from_request`` alone. Target: decision p50 <= 100 µs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minerva_core.routing import (  # noqa: E402
    BUILTIN_STRATEGIES,
    Catalog,
    ModelHealth,
    decide,
    make_strategy,
    records_from_openrouter,
    requirements_from_request,
)

SNAPSHOT = ROOT / "tests/fixtures/openrouter/models-all-modalities-2026-08-19.json"


def synthetic_health(ids: list[str], seed: int = 7) -> dict[str, ModelHealth]:
    rng = random.Random(seed)
    health = {}
    for model_id in ids:
        if rng.random() < 0.10:
            continue
        p50 = rng.lognormvariate(7.0, 0.6)  # ~1.1 s median
        health[model_id] = ModelHealth(
            p50_latency_ms=round(p50, 1),
            p95_latency_ms=round(p50 * rng.uniform(1.5, 3.0), 1),
            ttft_ms=round(p50 * rng.uniform(0.15, 0.5), 1),
            error_rate=round(rng.uniform(0, 0.05), 4),
            uptime=round(rng.uniform(0.93, 1.0), 4),
            throughput_tps=round(rng.uniform(20, 250), 1),
            requests=rng.randint(5, 5000),
        )
    return health


def _tool(name: str) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name.replace('_', ' ')} for the given account",
            "parameters": {
                "type": "object",
                "properties": {"account_id": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["account_id"],
            },
        },
    }


SHAPES = {
    "plain chat": {
        "model": "minerva/balanced",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Summarise the causes of the 2008 financial crisis."},
        ],
    },
    "tools + structured": {
        "model": "minerva/balanced",
        "messages": [
            {"role": "system", "content": "You answer billing questions. Use the tools."},
            {"role": "user", "content": "Why was invoice 2026-07-114 higher than June's?"},
        ],
        "tools": [_tool(n) for n in ("get_invoice", "list_usage", "get_plan", "get_credits")],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {
                "type": "object",
                "properties": {"summary": {"type": "string"}, "delta_usd": {"type": "string"}},
            }},
        },
        "max_tokens": 2000,
        "provider": {"require_parameters": True},
    },
    "image + 150k context": {
        "model": "minerva/balanced",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Compare these two charts with the report. " * 10},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}},
                {"type": "text", "text": "lorem ipsum dolor sit amet " * 22_000},
            ]},
        ],
        "max_tokens": 8000,
        "stream": True,
    },
}


def time_cell(fn, n: int) -> tuple[float, float, float, float]:
    """(p50, p99, mean) wall-clock and p50 thread-CPU time of ``fn()`` in µs over n calls."""
    for _ in range(min(2000, n)):
        fn()
    wall, cpu = [], []
    clock, thread = time.perf_counter_ns, time.thread_time_ns
    gc.disable()
    try:
        for _ in range(n):
            c0 = thread()
            t0 = clock()
            fn()
            t1 = clock()
            cpu.append(thread() - c0)
            wall.append(t1 - t0)
    finally:
        gc.enable()
    wall.sort()
    cpu.sort()
    p50 = wall[len(wall) // 2] / 1000
    p99 = wall[min(len(wall) - 1, int(len(wall) * 0.99))] / 1000
    return p50, p99, statistics.fmean(wall) / 1000, cpu[len(cpu) // 2] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    args = parser.parse_args()

    payload = json.loads(args.snapshot.read_text())
    records = records_from_openrouter(payload)
    t0 = time.perf_counter()
    bare = Catalog.from_records(records)
    catalog = bare.with_health(synthetic_health(bare.ids))
    build_ms = (time.perf_counter() - t0) * 1000 / 2

    strategies = [
        BUILTIN_STRATEGIES["cheapest"],
        BUILTIN_STRATEGIES["fastest"],
        BUILTIN_STRATEGIES["quality"],
        BUILTIN_STRATEGIES["balanced"],
        make_strategy("custom-q", "custom", weights={"cost": 0.2, "latency": 0.2, "quality": 0.6}),
    ]
    print(f"catalog: {len(catalog)} models, {len(catalog.health)} with health, "
          f"build {build_ms:.1f} ms; "
          f"Python {platform.python_version()} on {platform.machine()}; "
          f"{args.decisions:,} decisions per cell")
    print()
    header = (f"{'request shape':<22} {'strategy':<10} {'p50 µs':>8} {'p99 µs':>8} "
              f"{'mean µs':>8} {'cpu p50':>8}  selected")
    print(header)
    print("-" * (len(header) + 30))
    worst = 0.0
    for shape, body in SHAPES.items():
        req = requirements_from_request(body)
        req = req.__class__(**{**{f: getattr(req, f) for f in req.__slots__}, "model": None})
        for strategy in strategies:
            selected = decide(catalog, req, strategy).selected_model
            p50, p99, mean, cpu = time_cell(lambda: decide(catalog, req, strategy), args.decisions)
            worst = max(worst, p50)
            print(f"{shape:<22} {strategy.name:<10} {p50:>8.1f} {p99:>8.1f} {mean:>8.1f} "
                  f"{cpu:>8.1f}  {selected}")
        p50, p99, mean, cpu = time_cell(lambda: requirements_from_request(body),
                                        max(200, args.decisions // 20))
        print(f"{'':<22} {'(request)':<10} {p50:>8.1f} {p99:>8.1f} {mean:>8.1f} {cpu:>8.1f}"
              f"  requirements_from_request, ~{req.prompt_tokens:,} prompt tokens")
    print()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"worst decision p50: {worst:.1f} µs -> {'OK' if worst <= 100 else 'OVER'} the 100 µs "
          f"target (load average {load:.2f} on {os.cpu_count()} CPUs; cpu p50 = thread CPU time)")


if __name__ == "__main__":
    main()
