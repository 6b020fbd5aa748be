"""Proxy overhead: the emulator direct, Minerva, and LiteLLM in front of the same emulator.

    ./dev bench proxy_overhead            (or: uv run python bench/proxy_overhead.py)

One run on this machine: hey at concurrency 1, 32 and 128, non-streaming and streaming.
Prints, per target: requests/s, p50/p99 latency, time to first byte (≈ first token: the
emulator sends no processing comments here), and the latency added over the direct run.
Minerva runs with its ledger on (rows spooled and COPYed to PostgreSQL) and a virtual key.
LiteLLM (litellm[proxy]==1.108.7) is installed into its own venv under bench/.venv-litellm.
Use --skip-litellm to leave it out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import ROOT, LoadResult, Process, free_port, hey

sys.path.insert(0, str(ROOT))

LITELLM_VERSION = "1.108.7"
MODEL = "openai/gpt-4o-mini"


def litellm_venv() -> Path:
    venv = ROOT / "bench" / ".venv-litellm"
    exe = venv / "bin" / "litellm"
    if not exe.exists():
        subprocess.run(["uv", "venv", "-q", "-p", "3.11", str(venv)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"), f"litellm[proxy]=={LITELLM_VERSION}"],
            check=True,
        )
    return exe


def prepare_database() -> tuple[str, str]:
    """A migrated scratch database with the emulator's catalog and one unlimited key."""
    import json as _json

    import psycopg
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from minerva_core.catalog import diff_catalog, normalise_catalog
    from minerva_core.catalog_store import apply_catalog, load_live_state
    from minerva_core.db import migrate
    from minerva_core.virtual_keys import create_key

    server = os.environ.get("MINERVA_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"minerva_bench_{os.getpid()}"
    admin = make_url(server).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    migrate.upgrade(engine)
    snapshot = ROOT / "tests" / "fixtures" / "openrouter" / "models-all-modalities-2026-08-19.json"
    catalog = normalise_catalog(_json.loads(snapshot.read_text()))
    with engine.begin() as conn:
        state = load_live_state(conn)
        apply_catalog(conn, catalog, diff_catalog(state.models, state.price_hashes, catalog))
        conn.execute(text("SELECT ensure_usage_ledger_partition(now())"))
        key = create_key(conn, name="bench").key
    engine.dispose()
    return url, key


def drop_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def count_ledger(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM usage_ledger")).scalar()
    engine.dispose()
    return n


def body_files(tmp: Path) -> dict[bool, Path]:
    files = {}
    for stream in (False, True):
        body = {"model": MODEL, "messages": [{"role": "user", "content": "Say something short."}], "max_tokens": 16}
        if stream:
            body["stream"] = True
        path = tmp / f"body-{'stream' if stream else 'plain'}.json"
        path.write_text(json.dumps(body))
        files[stream] = path
    return files


def row(name: str, c: int, stream: bool, r: LoadResult, base: LoadResult | None) -> str:
    added50 = r.p50_ms - base.p50_ms if base else 0.0
    added99 = r.p99_ms - base.p99_ms if base else 0.0
    share = f"{100 * r.rps / base.rps:6.1f}%" if base else "  100.0%"
    return (
        f"| {name:<9} | {c:>3} | {'yes' if stream else 'no ':<3} | {r.ok:>5}/{r.n:<5} | {r.rps:>8.1f} | {share} "
        f"| {r.p50_ms:>7.2f} | {r.p99_ms:>8.2f} | {r.ttfb_p50_ms:>7.2f} | {added50:>+7.2f} | {added99:>+8.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32, 128])
    parser.add_argument("--requests", type=int, default=3000, help="requests per run at c>1")
    parser.add_argument("--requests-c1", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="Minerva proxy worker processes")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="minerva-bench-"))
    procs: list[Process] = []
    db_url = None
    try:
        emu_port, proxy_port = free_port(), free_port()
        emulator = Process("emulator", [sys.executable, "-m", "minerva_core.emulator", "--port", str(emu_port), "--no-padding", "--log-level", "warning"], log_dir=tmp)
        procs.append(emulator)
        upstream = f"http://127.0.0.1:{emu_port}/api/v1"
        emulator.wait_http(f"{upstream}/models?limit=1")

        db_url, key = prepare_database()
        env = {
            "MINERVA_DATABASE_URL": db_url, "OPENROUTER_BASE_URL": upstream, "OPENROUTER_API_KEY": "sk-emulator",
            "MINERVA_HOME": str(tmp / "home"), "MINERVA_ADMIN_TOKEN": "bench-admin",
        }
        minerva = Process("minerva", [sys.executable, "-m", "minerva_core.cli", "proxy", "--port", str(proxy_port), "--workers", str(args.workers)], env=env, log_dir=tmp)
        procs.append(minerva)
        minerva.wait_http(f"http://127.0.0.1:{proxy_port}/readyz", timeout=120)

        targets = [("direct", f"{upstream}/chat/completions", "sk-emulator"),
                   ("minerva", f"http://127.0.0.1:{proxy_port}/v1/chat/completions", key)]
        if not args.skip_litellm:
            litellm_port = free_port()
            config = tmp / "litellm.yaml"
            config.write_text(
                f"model_list:\n  - model_name: {MODEL}\n    litellm_params:\n      model: openrouter/{MODEL}\n"
                f"      api_base: {upstream}\n      api_key: sk-emulator\n"
                "general_settings:\n  master_key: sk-bench\n"
            )
            litellm = Process("litellm", [str(litellm_venv()), "--config", str(config), "--host", "127.0.0.1", "--port", str(litellm_port), "--num_workers", "1"],
                              env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}, log_dir=tmp)
            procs.append(litellm)
            litellm.wait_http(f"http://127.0.0.1:{litellm_port}/health/liveliness", timeout=180)
            targets.append(("litellm", f"http://127.0.0.1:{litellm_port}/v1/chat/completions", "sk-bench"))

        bodies = body_files(tmp)
        rss_start = minerva.rss_mb()
        results: dict[tuple[str, int, bool], LoadResult] = {}
        served_by_minerva = 0
        for stream in (False, True):
            for c in args.concurrency:
                for name, url, auth in targets:
                    n = args.requests_c1 if c == 1 else args.requests
                    if name == "litellm":
                        n = max(c * 3, min(n, 300 if c > 1 else 100))
                    warm = max(c, min(50, n)) // c * c  # hey sends n rounded down to a multiple of c
                    hey(url, bodies[stream], n=warm, c=c, auth=auth)  # warm-up
                    if name == "minerva":
                        served_by_minerva += warm
                    results[(name, c, stream)] = hey(url, bodies[stream], n=n, c=c, auth=auth)
                    if name == "minerva":
                        served_by_minerva += results[(name, c, stream)].n
        rss_end = minerva.rss_mb()
        ledger_rows, deadline = -1, time.monotonic() + 20
        while time.monotonic() < deadline:  # let the flusher drain the spool
            time.sleep(1.0)
            now_rows = count_ledger(db_url)
            if now_rows == ledger_rows or now_rows >= served_by_minerva:
                ledger_rows = now_rows
                break
            ledger_rows = now_rows

        print()
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"Minerva workers: {args.workers}; model {MODEL}, max_tokens 16")
        print("| target    |   c | sse | ok/n        |    req/s | share   | p50 ms  |  p99 ms  | ttfb p50 | +p50 ms | +p99 ms  |")
        print("|-----------|-----|-----|-------------|----------|---------|---------|----------|----------|---------|----------|")
        for stream in (False, True):
            for c in args.concurrency:
                base = results[("direct", c, stream)]
                for name, _, _ in targets:
                    print(row(name, c, stream, results[(name, c, stream)], None if name == "direct" else base))
        print()
        m32, d32 = results.get(("minerva", 32, False)), results.get(("direct", 32, False))
        l32 = results.get(("litellm", 32, False))
        if m32 and d32:
            print(f"c=32 non-streaming: Minerva {m32.rps:.0f} req/s = {100 * m32.rps / d32.rps:.1f}% of direct"
                  + (f", {m32.rps / l32.rps:.1f}x LiteLLM" if l32 else ""))
        m1, d1 = results.get(("minerva", 1, False)), results.get(("direct", 1, False))
        if m1 and d1:
            print(f"c=1 non-streaming added latency: p50 {m1.p50_ms - d1.p50_ms:+.2f} ms, p99 {m1.p99_ms - d1.p99_ms:+.2f} ms")
        print(f"ledger rows {ledger_rows} for {served_by_minerva} requests sent through Minerva; proxy RSS {rss_start:.0f} -> {rss_end:.0f} MB")
    finally:
        for proc in reversed(procs):
            proc.stop()
        if db_url:
            drop_database(db_url)


if __name__ == "__main__":
    main()
