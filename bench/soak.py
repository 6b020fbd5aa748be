"""Soak: the proxy under a steady open-loop load with injected faults, for minutes.

    ./dev bench soak                      (or: uv run python bench/soak.py)
    ./dev bench soak --duration 60 --rate 50 --json /tmp/soak.json

Starts the emulator, a fresh database (on MINERVA_DATABASE_URL's server, the local
PostgreSQL by default, or --database-url) and `minerva proxy` as real processes, then sends
--rate requests per second on a fixed clock (open loop: a slow answer never delays the next
request) for --warmup then --duration seconds. The mix (seeded, so runs repeat):

* clean   — a pool of models, streamed or not, through one key;
* chain   — model A through a key whose strategy falls back to B then C, while a fault is
            armed on A in the emulator every second (context_length, 503, 429, 500, reset,
            malformed, hang), so the proxy falls over to the next model;
* faults  — X-Emulator-Fault on the request (429, 500, 503, reset, hang with a 300 ms
            first-byte timeout, midstream, malformed), passed upstream on every attempt, over
            a separate pool of models (so their cooldowns do not touch the other classes).
            A chain request waits 1 s for a first byte, a hang-fault request 300 ms.

The proxy runs with its defaults but MINERVA_GATEWAY_COOLDOWN_S (--cooldown-s, 2 s instead
of 30): with 30 s nearly every faulted model would be cooling down and most faulted requests
would be answered 503 by the proxy without reaching the emulator; the cooldown still engages.

Prints, per --bucket-s (a minute by default): requests, answers, errors, fallbacks, p50/p99
latency (from each request's scheduled time, so client lag counts) and the RSS of the proxy
and of its ledger flusher child; then answers by status, errors by cause, the ledger matched
to the responses by request id (missing and doubled rows), and RSS growth from the end of
the warm-up to the end. Writes everything to --json. Exits 1 when ledger rows != responses
or either process grew by --max-rss-growth-pct (10) or more; 2 when a process died.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import orjson

from _harness import ROOT, Process, _pct, free_port
from _soak_report import print_report, summarise, verdict

sys.path.insert(0, str(ROOT))

A, B, C = "openai/gpt-4o-mini", "openai/gpt-4.1-nano", "google/gemini-2.5-flash-lite"
SNAPSHOT = ROOT / "tests" / "fixtures" / "openrouter" / "models-all-modalities-2026-08-19.json"
HEADER_FAULTS = ("429", "500", "503", "reset", "hang", "midstream", "malformed")
ARMED_FAULTS = ("context_length", "503", "context_length", "429", "context_length", "500",
                "context_length", "reset", "context_length", "malformed", "context_length", "hang")
HANG_TIMEOUT_MS = "300"  # first-byte timeout of requests carrying the hang fault
CHAIN_TIMEOUT_MS = "1000"  # of chain requests: the fault armed on A may be a hang
FORWARD = "http-referer,x-title,x-emulator-fault"


# -- set-up ------------------------------------------------------------------------------------
def model_pools(seed: int, clean: int, faults: int) -> tuple[list[str], list[str]]:
    """Two disjoint pools of priced text-in/text-out models from the emulator's snapshot."""
    data = json.loads(SNAPSHOT.read_text())
    data = data["data"] if isinstance(data, dict) else data
    eligible = sorted(
        m["id"] for m in data
        if "text" in m["architecture"].get("output_modalities", [])
        and "text" in m["architecture"].get("input_modalities", [])
        and m["pricing"].get("prompt") not in (None, "-1", "0") and not m["id"].endswith(":free")
        and not m["id"].startswith("openrouter/") and (m.get("context_length") or 0) >= 16000
        and m["id"] not in (A, B, C)
    )
    random.Random(seed).shuffle(eligible)
    return eligible[:clean], eligible[clean:clean + faults]


def prepare_database(server: str, clean: list[str], faulty: list[str]) -> tuple[str, dict[str, str]]:
    """A migrated scratch database with the catalog, the chain strategy and three keys."""
    import psycopg
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from minerva_core.catalog import diff_catalog, normalise_catalog
    from minerva_core.catalog_store import apply_catalog, load_live_state
    from minerva_core.db import migrate
    from minerva_core.virtual_keys import create_key

    name = f"minerva_soak_{os.getpid()}"
    admin = make_url(server).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        catalog = normalise_catalog(json.loads(SNAPSHOT.read_text()))
        with engine.begin() as conn:
            state = load_live_state(conn)
            apply_catalog(conn, catalog, diff_catalog(state.models, state.price_hashes, catalog))
            conn.execute(text("SELECT ensure_usage_ledger_partition(now())"))
            conn.execute(text("INSERT INTO routing_strategies (name, alias, kind, fallback_chain) "
                              "VALUES ('soak-chain', 'soak/chain', 'cheapest', :chain)"), {"chain": [B, C]})
            keys = {
                "clean": create_key(conn, name="soak-clean", allowed_models=clean).key,
                "chain": create_key(conn, name="soak-chain", allowed_models=[A, B, C],
                                    default_strategy="soak-chain").key,
                "faults": create_key(conn, name="soak-faults", allowed_models=faulty).key,
            }
    finally:
        engine.dispose()
    return url, keys


def ledger_rows(url: str, expected: int, timeout: float) -> tuple[Counter, int]:
    """request_id -> row count once the flusher has drained (the count reaches `expected`
    or stops moving for 5 s), and the number of rows with fallback_depth > 0."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            deadline, last, still_since = time.monotonic() + timeout, -1, time.monotonic()
            while time.monotonic() < deadline:
                n = conn.execute(text("SELECT count(*) FROM usage_ledger")).scalar_one()
                conn.commit()
                if n >= expected:
                    break
                if n != last:
                    last, still_since = n, time.monotonic()
                elif time.monotonic() - still_since > 5:
                    break
                time.sleep(0.5)
            rows = Counter(dict(conn.execute(text("SELECT request_id, count(*) FROM usage_ledger GROUP BY 1")).all()))
            fallbacks = conn.execute(text("SELECT count(*) FROM usage_ledger WHERE fallback_depth > 0")).scalar_one()
    finally:
        engine.dispose()
    return rows, fallbacks


def proxy_log(path: Path) -> dict:
    """Line counts of the proxy's log by level, and its last ERROR/WARNING/Traceback lines."""
    lines = path.read_text(errors="replace").splitlines()
    levels = Counter(parts[1] for line in lines if len(parts := line.split(" ", 2)) > 2
                     and parts[1] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    worst = [line for line in lines if " ERROR " in line or " WARNING " in line or " CRITICAL " in line
             or line.startswith("Traceback")]
    return {"lines": len(lines), "by_level": dict(levels), "problems": worst[-10:]}


# -- memory ------------------------------------------------------------------------------------
def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def flusher_pid(proxy_pid: int) -> int | None:
    try:
        children = Path(f"/proc/{proxy_pid}/task/{proxy_pid}/children").read_text().split()
    except FileNotFoundError:
        return None
    for child in children:
        try:
            if b"proxy.gateway.flusher" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
        except FileNotFoundError:
            continue
    return None


def memory(proxy_pid: int) -> dict[str, float | None]:
    child = flusher_pid(proxy_pid)
    return {"proxy_mb": rss_mb(proxy_pid), "flusher_mb": rss_mb(child) if child else None, "flusher_pid": child}


# -- load --------------------------------------------------------------------------------------
class Mix:
    """What request i is: (class, stream, header fault or None, headers, body bytes)."""

    def __init__(self, seed: int, keys: dict[str, str], clean: list[str], faulty: list[str],
                 fault_share: float, chain_share: float, stream_share: float) -> None:
        self.rng = random.Random(seed)
        self.keys, self.clean, self.faulty = keys, clean, faulty
        self.fault_share, self.chain_share, self.stream_share = fault_share, chain_share, stream_share

    def next(self, i: int) -> tuple[str, bool, str | None, dict[str, str], bytes]:
        r, stream = self.rng.random(), self.rng.random() < self.stream_share
        fault = None
        if r < self.fault_share:
            cls, model, fault = "faults", self.rng.choice(self.faulty), self.rng.choice(HEADER_FAULTS)
        elif r < self.fault_share + self.chain_share:
            cls, model = "chain", A
        else:
            cls, model = "clean", self.rng.choice(self.clean)
        headers = {"Authorization": f"Bearer {self.keys[cls]}", "Content-Type": "application/json"}
        if fault:
            headers["X-Emulator-Fault"] = fault
        if fault == "hang":
            headers["X-Minerva-First-Byte-Timeout-Ms"] = HANG_TIMEOUT_MS
        elif cls == "chain":
            headers["X-Minerva-First-Byte-Timeout-Ms"] = CHAIN_TIMEOUT_MS
        body = {"model": model, "messages": [{"role": "user", "content": f"soak request {i % 97}"}],
                "max_tokens": 16}
        if stream:
            body["stream"] = True
        return cls, stream, fault, headers, orjson.dumps(body)


def error_cause(status: int, raw: bytes, stream: bool) -> str | None:
    """The error code of an answer (JSON error body, or an SSE error event), None when ok."""
    if status != 200:
        try:
            return orjson.loads(raw)["error"]["code"] or f"http_{status}"
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return f"http_{status}"
    if not stream:
        return None
    for line in raw.splitlines():
        if line.startswith(b"data: {") and b'"error"' in line:
            try:
                error = orjson.loads(line[6:]).get("error")
            except orjson.JSONDecodeError:
                return "stream_unparsable_event"
            if error:
                code = error.get("code") if isinstance(error, dict) else None
                return str(code) if code else "stream_error"
    if not raw.rstrip().endswith(b"data: [DONE]"):
        return "stream_incomplete"
    return None


async def one(session: aiohttp.ClientSession, url: str, spec: tuple, sched: float, phase: str,
              t_zero: float, out: list[dict]) -> None:
    cls, stream, fault, headers, body = spec
    loop = asyncio.get_running_loop()
    lag = loop.time() - sched
    rid, depth, status = None, 0, 0
    try:
        async with session.post(url, data=body, headers=headers) as resp:
            rid = resp.headers.get("x-request-id")
            depth = int(resp.headers.get("x-minerva-fallback-depth") or 0)
            status = resp.status
            raw = await resp.read()
        cause = error_cause(status, raw, stream)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        cause = f"client_{type(exc).__name__}"
    out.append({"phase": phase, "cls": cls, "stream": stream, "fault": fault, "t": sched - t_zero,
                "latency_ms": (loop.time() - sched) * 1000, "lag_ms": lag * 1000, "status": status,
                "request_id": rid, "cause": cause, "fallback_depth": depth})


async def arm_faults(session: aiohttp.ClientSession, emulator: str, every: float) -> None:
    """Arm one fault on A every `every` seconds (count 1: the next request for A takes it)."""
    i = 0
    while True:
        kind = ARMED_FAULTS[i % len(ARMED_FAULTS)]
        i += 1
        try:
            async with session.post(f"{emulator}/__emulator/faults",
                                    json={"model": A, "fault": kind, "count": 1}) as resp:
                await resp.read()
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(every)


async def sample_memory(proxy_pid: int, every: float, t_zero: float, samples: list[dict]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        samples.append({"t": loop.time() - t_zero, **memory(proxy_pid)})
        await asyncio.sleep(every)


async def drive(args: argparse.Namespace, proxy_url: str, emulator: str, mix: Mix, proxy_pid: int) -> dict:
    """Warm-up then the measured run on one fixed clock; RSS read at the switch and the end."""
    loop = asyncio.get_running_loop()
    out: list[dict] = []
    samples: list[dict] = []
    connector = aiohttp.TCPConnector(limit=4000, force_close=False)
    timeout = aiohttp.ClientTimeout(total=args.client_timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        url = f"{proxy_url}/v1/chat/completions"
        armer = asyncio.create_task(arm_faults(session, emulator, 1.0))
        pending: set[asyncio.Task] = set()
        warm_n = int(args.warmup * args.rate)
        total = warm_n + int(args.duration * args.rate)
        t_start = loop.time() + 0.2
        t_zero = t_start + args.warmup  # the measured run's clock starts after the warm-up
        sampler, rss_start = None, None
        for i in range(total):
            sched = t_start + i / args.rate
            if i == warm_n:
                rss_start = memory(proxy_pid)
                sampler = asyncio.create_task(sample_memory(proxy_pid, args.bucket_s, t_zero, samples))
            delay = sched - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            phase = "warmup" if i < warm_n else "run"
            task = asyncio.create_task(one(session, url, mix.next(i), sched, phase, t_zero, out))
            pending.add(task)
            task.add_done_callback(pending.discard)
        send_span = loop.time() - t_zero
        if pending:
            await asyncio.gather(*pending)
        rss_end = memory(proxy_pid)
        for task in (armer, sampler):
            if task is not None:
                task.cancel()
    return {"results": out, "rss_start": rss_start or memory(proxy_pid), "rss_end": rss_end,
            "samples": samples, "send_span_s": send_span}


# -- main --------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=60, help="seconds of the same load before measuring")
    parser.add_argument("--rate", type=float, default=100, help="requests per second (open loop)")
    parser.add_argument("--stream-share", type=float, default=0.4)
    parser.add_argument("--fault-share", type=float, default=0.1, help="requests carrying X-Emulator-Fault")
    parser.add_argument("--chain-share", type=float, default=0.1, help="requests on the fallback chain")
    parser.add_argument("--clean-models", type=int, default=12)
    parser.add_argument("--fault-models", type=int, default=80)
    parser.add_argument("--cooldown-s", type=float, default=2.0,
                        help="MINERVA_GATEWAY_COOLDOWN_S of the proxy (its default is 30)")
    parser.add_argument("--ttft-ms", type=int, default=20, help="the emulator's time to first token")
    parser.add_argument("--token-ms", type=int, default=2, help="the emulator's time per token")
    parser.add_argument("--bucket-s", type=float, default=60, help="width of a report row")
    parser.add_argument("--client-timeout-s", type=float, default=90)
    parser.add_argument("--max-rss-growth-pct", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get(
        "MINERVA_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="the PostgreSQL server to create the scratch database on")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="result file (default: a file under /tmp)")
    args = parser.parse_args()

    from proxy_overhead import drop_database

    tmp = Path(tempfile.mkdtemp(prefix="minerva-soak-"))
    out_path = args.json or tmp / "soak.json"
    procs: list[Process] = []
    db_url = None
    try:
        clean, faulty = model_pools(args.seed, args.clean_models, args.fault_models)
        emu_port, proxy_port = free_port(), free_port()
        emulator = Process("emulator", [sys.executable, "-m", "minerva_core.emulator", "--port", str(emu_port),
                                        "--seed", str(args.seed), "--ttft-ms", str(args.ttft_ms),
                                        "--token-ms", str(args.token_ms), "--log-level", "warning"], log_dir=tmp)
        procs.append(emulator)
        emulator_root = f"http://127.0.0.1:{emu_port}"
        emulator.wait_http(f"{emulator_root}/api/v1/models?limit=1")
        db_url, keys = prepare_database(args.database_url, clean, faulty)
        env = {"MINERVA_DATABASE_URL": db_url, "OPENROUTER_BASE_URL": f"{emulator_root}/api/v1",
               "OPENROUTER_API_KEY": "sk-emulator", "MINERVA_HOME": str(tmp / "home"),
               "MINERVA_ADMIN_TOKEN": "soak-admin", "MINERVA_GATEWAY_FORWARD_HEADERS": FORWARD,
               "MINERVA_GATEWAY_COOLDOWN_S": str(args.cooldown_s)}
        proxy = Process("proxy", [sys.executable, "-m", "minerva_core.cli", "proxy", "--port", str(proxy_port)],
                        env=env, log_dir=tmp)
        procs.append(proxy)
        proxy_url = f"http://127.0.0.1:{proxy_port}"
        proxy.wait_http(f"{proxy_url}/readyz", timeout=120)
        print(f"emulator {emulator_root}, proxy {proxy_url} (pid {proxy.proc.pid}), database {db_url.rsplit('/', 1)[-1]}, "
              f"logs {tmp}", flush=True)

        mix = Mix(args.seed, keys, clean, faulty, args.fault_share, args.chain_share, args.stream_share)
        run = asyncio.run(drive(args, proxy_url, f"{emulator_root}", mix, proxy.proc.pid))
        alive = {p.name: p.proc.poll() is None for p in procs}
        expected = sum(1 for r in run["results"] if r["request_id"])
        rows, ledger_fallbacks = ledger_rows(db_url, expected, timeout=120)
        summary = summarise(args, run, rows, ledger_fallbacks)
        summary["processes_alive"] = alive
        summary["database"] = db_url.rsplit("/", 1)[-1]
        summary["proxy_log"] = proxy_log(proxy.log_path)
        code = verdict(summary, args.max_rss_growth_pct) if all(alive.values()) else 2
        summary["exit_code"] = code
        print_report(summary)
        out_path.write_text(json.dumps(summary, indent=1, default=str))
        print(f"result: {out_path}; exit {code}")
        return code
    finally:
        for proc in reversed(procs):
            proc.stop()
        if db_url and not args.keep_database:
            drop_database(db_url)


if __name__ == "__main__":
    sys.exit(main())
