"""Flows killed with SIGKILL mid-run and run again, as `minerva flow run` subprocesses
against a real emulator and real PostgreSQL (one Prefect API for all of them).

discover: killed while it stores per-endpoint figures (the catalog is written, the job
still running), then re-run to completion; the catalog tables then equal those of one
clean run into another database (counts and checksums of ai_models, ai_model_prices,
ai_model_endpoints) and every model has exactly one open price.

reconcile: killed while it waits on the bill (the emulator's /activity hangs), then the
same period reconciled twice: the same report both times, and the period's results are
stored once (one run, its items not doubled).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from minerva_core.db import migrate
from minerva_core.emulator.config import DEFAULT_SNAPSHOT
from tests.support.database import scratch_database
from tests.support.emulator import arm_fault, clear_faults, running_emulator

pytestmark = pytest.mark.slow

CHECKSUMS = {
    "ai_models": "SELECT count(*), md5(string_agg(concat_ws('|', id, content_hash, status, context_length, "
                 "upstream_provider), ',' ORDER BY id)) FROM ai_models",
    "ai_model_prices": "SELECT count(*), md5(string_agg(concat_ws('|', model_id, source, endpoint_tag, "
                       "provider_name, valid_to IS NULL, prompt, completion, content_hash), ',' "
                       "ORDER BY model_id, source, endpoint_tag, content_hash)) FROM ai_model_prices",
    "ai_model_endpoints": "SELECT count(*), md5(string_agg(concat_ws('|', model_id, endpoint_tag, provider_name, "
                          "context_length, removed_at IS NULL), ',' ORDER BY model_id, endpoint_tag)) "
                          "FROM ai_model_endpoints",
}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The emulator on the first 200 models of the shipped snapshot: enough for a kill to land
    mid-run, small enough that three discover runs stay quick."""
    every = json.loads(gzip.decompress(DEFAULT_SNAPSHOT.read_bytes()))["data"]
    models = every[:200] + [m for m in every[200:] if m["id"] == "openai/gpt-4o-mini"]  # billed below
    snapshot = tmp_path_factory.mktemp("snapshot") / "models.json"
    snapshot.write_text(json.dumps({"data": models}))
    with running_emulator(seed=5, snapshot=snapshot) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def prefect_api(prefect_harness: None) -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


class FlowProcess:
    """`minerva flow run NAME` in its own process group."""

    def __init__(self, db_url: str, upstream: str, prefect_api: str, home: Path, name: str, *params: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MINERVA_", "PREFECT_")) and k != "OPENROUTER_API_KEY"}
        env.update({"MINERVA_DATABASE_URL": db_url, "OPENROUTER_BASE_URL": upstream, "MINERVA_HOME": str(home),
                    "MINERVA_ENV": "test", "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING",
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
        argv = [sys.executable, "-m", "minerva_core.cli", "flow", "run", name]
        for param in params:
            argv += ["--param", param]
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / f"{name}-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def result(self, timeout: float = 180) -> dict[str, Any]:
        code = self.process.wait(timeout=timeout)
        output = self.log.read_text(errors="replace")
        assert code == 0, output[-4000:]
        return json.loads(output[output.index("\n{") + 1:] if not output.startswith("{") else output)


def _kill_when(flow: FlowProcess, engine: Engine, sql: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert flow.process.poll() is None, "the flow ended before the kill: " + flow.log.read_text()[-3000:]
        with engine.connect() as conn:
            if conn.execute(text(sql)).scalar():
                flow.kill()
                return
        time.sleep(0.05)
    flow.kill()
    raise AssertionError("the flow never reached the state to kill it in")


def _catalog(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {table: tuple(conn.execute(text(sql)).one()) for table, sql in CHECKSUMS.items()}


@pytest.fixture()
def databases() -> Iterator[tuple[str, str]]:
    with scratch_database("minerva_flowkill") as killed, scratch_database("minerva_flowclean") as clean:
        for url in (killed, clean):
            engine = create_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
        yield killed, clean


def test_discover_killed_mid_run_and_rerun_equals_one_clean_run(databases, upstream, prefect_api, tmp_path) -> None:
    killed_url, clean_url = databases
    killed, clean = create_engine(killed_url), create_engine(clean_url)
    try:
        fast = "endpoint_concurrency=16"
        first = FlowProcess(killed_url, upstream, prefect_api, tmp_path / "a", "discover", fast)
        _kill_when(first, killed, "SELECT (SELECT count(*) FROM ai_model_endpoints) > 100 AND "
                                  "EXISTS (SELECT 1 FROM model_sync_jobs WHERE status = 'running')")
        with killed.connect() as conn:
            assert conn.execute(text("SELECT status FROM model_sync_jobs")).scalars().all() == ["running"]
        halfway = _catalog(killed)

        second = FlowProcess(killed_url, upstream, prefect_api, tmp_path / "a", "discover", fast)
        reference_run = FlowProcess(clean_url, upstream, prefect_api, tmp_path / "b", "discover", fast)
        rerun, once = second.result(), reference_run.result()  # side by side
        assert rerun["status"] == once["status"] == "succeeded"

        after, reference = _catalog(killed), _catalog(clean)
        assert after == reference
        assert halfway["ai_model_endpoints"][0] < reference["ai_model_endpoints"][0]  # the kill was mid-run
        with killed.connect() as conn:
            doubled_open = conn.execute(text(
                "SELECT count(*) FROM (SELECT 1 FROM ai_model_prices WHERE valid_to IS NULL "
                "GROUP BY model_id, source, endpoint_tag HAVING count(*) > 1) d")).scalar_one()
            without_open = conn.execute(text(
                "SELECT count(*) FROM ai_models m WHERE NOT EXISTS (SELECT 1 FROM ai_model_prices p "
                "WHERE p.model_id = m.id AND p.source = 'models' AND p.valid_to IS NULL)")).scalar_one()
        assert (doubled_open, without_open) == (0, 0)
    finally:
        killed.dispose()
        clean.dispose()


def test_reconcile_killed_mid_run_then_twice_gives_one_result(db_url, upstream, prefect_api, tmp_path) -> None:
    for n in range(3):  # something billed today
        httpx.post(f"{upstream}/chat/completions", headers={"Authorization": "Bearer k"}, timeout=10,
                   json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": f"bill {n}"}]},
                   ).raise_for_status()
    today = datetime.now(timezone.utc).date().isoformat()
    params = (f"period_from={today}", f"period_to={today}", f"out_dir={tmp_path / 'reports'}")
    engine = create_engine(db_url)
    try:
        arm_fault(upstream, "hang", path="/activity", count=None)
        flow = FlowProcess(db_url, upstream, prefect_api, tmp_path / "r", "reconcile", *params)
        time.sleep(1.0)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and httpx.get(
                f"{upstream.removesuffix('/api/v1')}/__emulator/faults", timeout=5).json()["faults"][0]["fired"] == 0:
            time.sleep(0.1)
        flow.kill()  # it is waiting on /activity
        clear_faults(upstream)

        results = [FlowProcess(db_url, upstream, prefect_api, tmp_path / "r", "reconcile", *params).result()
                   for _ in range(2)]
        first, second = results
        for key in ("status", "accuracy", "counts", "bill_total_usd", "delta_usd"):
            assert first[key] == second[key], key
        assert first["status"] == "succeeded" and sum(first["counts"].values()) >= 1
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT id, status FROM reconciliation_runs WHERE period_from = CAST(:d AS date) "
                                     "AND status = 'succeeded'"), {"d": today}).all()
            items = conn.execute(text("SELECT count(*) FROM reconciliation_items i JOIN reconciliation_runs r "
                                      "ON r.id = i.run_id WHERE r.period_from = CAST(:d AS date)"), {"d": today}).scalar_one()
        assert [str(r.id) for r in runs] == [second["run_id"]]
        assert items == sum(second["counts"].values())
    finally:
        clear_faults(upstream)
        engine.dispose()
