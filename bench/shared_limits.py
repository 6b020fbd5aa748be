"""What sharing rate limits and budgets through Redis adds to one admission.

In one process, the same ``AdmissionControl`` calls with and without a shared store
(MINERVA_REDIS_URL, default redis://127.0.0.1:6379/0; keys under a prefix deleted after):

    rpm+tpm admit      ``admit`` of a key with rpm and tpm limits (never refused here)
    budget reserve     ``areserve`` of a key with a daily budget (+ its settlement, async)
    admit + reserve    both, as a budgeted and rate-limited request does
    unlimited key      a key without limits or budget: never touches Redis

Sequential calls give the per-admission latency (p50/p99 µs); ``--concurrency`` tasks at
once give throughput (admissions/s) with the store's round trips overlapping.

    uv run --frozen python bench/shared_limits.py [--n 5000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from minerva_core.shared_limits import SharedLimits  # noqa: E402
from proxy.gateway.admission import AdmissionControl  # noqa: E402
from proxy.gateway.state import KeyInfo  # noqa: E402

LIMITED = KeyInfo(id="bench-limited", name="limited", rpm_limit=10**9, tpm_limit=10**12)
BUDGETED = KeyInfo(id="bench-budget", name="budget", budget_usd=Decimal("1000000"), budget_period="day")
BOTH = KeyInfo(id="bench-both", name="both", rpm_limit=10**9, tpm_limit=10**12, budget_usd=Decimal("1000000"),
               budget_period="day")
UNLIMITED = KeyInfo(id="bench-free", name="free")
ESTIMATE = Decimal("0.000123456789012")


async def one(admission: AdmissionControl, key: KeyInfo, now: datetime) -> None:
    if key.rpm_limit:
        await admission.admit(key, 500)
    if key.budget_usd is not None:
        held = await admission.areserve(key, ESTIMATE, now)
        admission.settle(key, held, ESTIMATE, now)
    elif not key.rpm_limit:
        await admission.admit(key, 500)
        await admission.areserve(key, ESTIMATE, now)


async def sequential(admission: AdmissionControl, key: KeyInfo, n: int) -> list[float]:
    now = datetime.now(UTC)
    for _ in range(200):
        await one(admission, key, now)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await one(admission, key, now)
        out.append((time.perf_counter() - t0) * 1e6)
    await asyncio.sleep(0)
    return out


async def concurrent(admission: AdmissionControl, key: KeyInfo, n: int, tasks: int) -> float:
    now = datetime.now(UTC)

    async def worker(count: int) -> None:
        for _ in range(count):
            await one(admission, key, now)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(n // tasks) for _ in range(tasks)))
    return (n // tasks * tasks) / (time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    url = os.environ.get("MINERVA_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"minerva-bench:{uuid.uuid4().hex[:8]}:"
    shared = SharedLimits(url, prefix=prefix, timeout=1.0)
    if not await shared.ping():
        raise SystemExit(f"no Redis at {shared.where}")
    modes = {"in process": AdmissionControl(), "redis": AdmissionControl(shared=shared)}
    rows = []
    try:
        for label, key in (("rpm+tpm admit", LIMITED), ("budget reserve", BUDGETED), ("admit + reserve", BOTH),
                           ("unlimited key", UNLIMITED)):
            for mode, admission in modes.items():
                times = await sequential(admission, key, args.n)
                rate = await concurrent(admission, key, args.n, args.concurrency)
                await admission.flush()  # settlements done
                rows.append((label, mode, statistics.median(times), pct(times, 0.99), args.n / (sum(times) / 1e6),
                             rate))
    finally:
        await shared.close()
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
    print(f"shared limits: {args.n} sequential calls per row, then {args.n} over {args.concurrency} tasks "
          f"(Redis {shared.where}, Python {sys.version.split()[0]}, uvloop, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'operation':<17} {'state':<11} {'p50 µs':>8} {'p99 µs':>8} {'seq/s':>9} {'conc/s':>9}")
    for label, mode, p50, p99, seq, conc in rows:
        print(f"{label:<17} {mode:<11} {p50:>8.1f} {p99:>8.1f} {seq:>9.0f} {conc:>9.0f}")


if __name__ == "__main__":
    import uvloop  # the proxy's event loop (uvicorn --loop uvloop)

    uvloop.run(main())
