"""Catalog sync speed: fetch from the emulator, normalise, gate, store — for the real
549-model snapshot and a 10,000-model synthetic catalog — and a re-run with nothing changed.

    ./dev bench catalog_sync

Times the flow's own work (the same functions its tasks call), Prefect start-up excluded.
Great Expectations is imported once before timing (a per-process cost, not per run).
Targets: 549 models <= 3 s, 10,000 models <= 15 s, unchanged re-run writes 0 rows.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _harness import Process, free_port  # noqa: E402

SNAPSHOT = ROOT / "tests" / "fixtures" / "openrouter" / "models-all-modalities-2026-08-19.json"


def synthetic(n: int, path: Path) -> Path:
    base = json.loads(SNAPSHOT.read_text())["data"]
    out = []
    for i in range(n):
        record = copy.deepcopy(base[i % len(base)])
        record["id"] = f"{record['id']}-synthetic-{i}"
        if record.get("canonical_slug"):
            record["canonical_slug"] = f"{record['canonical_slug']}-synthetic-{i}"
        out.append(record)
    path.write_text(json.dumps({"data": out, "total_count": n, "links": {"next": None}}))
    return path


def scratch_engine():
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from minerva_core.db import migrate

    server = os.environ.get("MINERVA_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"minerva_bench_catalog_{os.getpid()}"
    admin = make_url(server).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(make_url(server).set(drivername="postgresql+psycopg", database=name))
    migrate.upgrade(engine)
    return engine, admin, name


def sync_once(engine, base_url: str) -> dict:
    from sqlalchemy import text

    from minerva_core.catalog import diff_catalog, normalise_catalog
    from minerva_core.catalog_store import apply_catalog, load_live_state
    from minerva_core.providers import OpenRouterProvider, new_client
    from minerva_core.quality import check_catalog

    timings = {}
    t0 = time.perf_counter()

    async def fetch():
        async with new_client() as client:
            return await OpenRouterProvider(base_url=base_url, api_key="sk-bench", client=client).discover_models("all")

    records = asyncio.run(fetch())
    timings["fetch"] = time.perf_counter() - t0
    t = time.perf_counter()
    with engine.connect() as conn:
        state = load_live_state(conn)
    catalog = normalise_catalog(records)
    timings["normalise"] = time.perf_counter() - t
    t = time.perf_counter()
    gate = check_catalog(catalog, state.current_prices)
    timings["gate"] = time.perf_counter() - t
    assert gate.passed, gate.summary
    t = time.perf_counter()
    with engine.begin() as conn:
        before = conn.execute(text("SELECT coalesce(sum(version), 0) FROM catalog_versions")).scalar()
        counts = apply_catalog(conn, catalog, diff_catalog(state.models, state.price_hashes, catalog))
    with engine.connect() as conn:
        after = conn.execute(text("SELECT coalesce(sum(version), 0) FROM catalog_versions")).scalar()
    timings["store"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return {"models": len(records), "timings": timings, "counts": counts, "version_bumped": after != before}


def main() -> None:
    import great_expectations  # noqa: F401  (imported once, before timing)

    tmp = Path(tempfile.mkdtemp(prefix="minerva-bench-catalog-"))
    rows = []
    for label, snapshot in (("real 549", SNAPSHOT), ("synthetic 10,000", synthetic(10_000, tmp / "synthetic.json"))):
        port = free_port()
        emulator = Process("emulator-catalog", [sys.executable, "-m", "minerva_core.emulator", "--port", str(port), "--snapshot", str(snapshot), "--log-level", "warning"], log_dir=tmp)
        base = f"http://127.0.0.1:{port}/api/v1"
        engine, admin, name = scratch_engine()
        try:
            emulator.wait_http(f"{base}/models?limit=1")
            first = sync_once(engine, base)
            again = sync_once(engine, base)
            rows.append((label, first, again))
        finally:
            emulator.stop()
            engine.dispose()
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print()
    print("| catalog | run | models | fetch s | normalise s | gate s | store s | total s | models written | prices written |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, first, again in rows:
        for run, r in (("first", first), ("unchanged re-run", again)):
            t = r["timings"]
            print(f"| {label} | {run} | {r['models']} | {t['fetch']:.2f} | {t['normalise']:.2f} | {t['gate']:.2f} | "
                  f"{t['store']:.2f} | {t['total']:.2f} | {r['counts']['models_written']} | {r['counts']['prices_written']} |")
    for label, first, again in rows:
        print(f"{label}: unchanged re-run wrote {again['counts']['models_written'] + again['counts']['prices_written']} rows; "
              f"catalog version bumped: {again['version_bumped']}")


if __name__ == "__main__":
    main()
