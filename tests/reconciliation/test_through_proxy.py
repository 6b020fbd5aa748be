"""Issue 5's acceptance test: traffic through the real proxy (uvicorn) to a running emulator,
the usage_ledger as the proxy wrote it, the emulator's per-generation CSV export and /activity
as the bills, five known faults injected, and the reconciliation finds exactly those:

* lost     - a ledger row deleted                          -> missing_in_ledger
* unbilled - a line cut from the CSV bill                  -> missing_in_bill
* drift    - our estimate (cost_estimated_usd) off         -> price_drift
* dup      - a ledger row written twice (a replay)         -> duplicate
* cent     - the CSV bill charges one line 0.01 USD more   -> amount_mismatch (delta 0.01)

Every other generation must be matched. /activity is imported too; the per-generation CSV
covers its day, so its rows are set aside (superseded), never classified.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import httpx
import openai
import pytest
from sqlalchemy import Engine, create_engine, text

from minerva_core.billing import generation_csv, row_from_generation
from minerva_core.billing.store import import_bill_bytes
from minerva_core.db import migrate
from minerva_core.reconciliation import Period
from tests.gateway import support
from tests.reconciliation import scenario as sc
from tests.reconciliation.test_end_to_end import _db_items, _run
from tests.support.database import scratch_database
from tests.support.emulator import running_emulator

pytestmark = pytest.mark.slow

MODELS = ("openai/gpt-4o-mini", "openai/gpt-4.1-nano", "google/gemini-2.5-flash-lite")
REQUESTS = 20
KEY_NAME = "recon-through-proxy"
CENT = Decimal("0.01")
DRIFT = Decimal("0.0005")  # what a stale catalog price put on our estimate


@pytest.fixture(scope="module")
def proxy_db_url() -> Iterator[str]:
    """A migrated scratch database with the real catalog (as the gateway tests have it)."""
    with scratch_database("minerva_recon_proxy") as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
            support.load_catalog(engine)
        finally:
            engine.dispose()
        yield url


@pytest.fixture(scope="module")
def proxy_db(proxy_db_url: str) -> Iterator[Engine]:
    engine = create_engine(proxy_db_url, pool_size=3, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with running_emulator(seed=23, generation_delay_ms=0, prompt_cache=False) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def proxy(proxy_db_url: str, emulator: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    home = tmp_path_factory.mktemp("recon_proxy_home")
    settings = support.settings_for(proxy_db_url, emulator, home)
    app = support.build_app(settings, support.test_config(home))
    with support.serve(app) as url:
        yield url, app


def _send_traffic(proxy_url: str, key: str) -> list[str]:
    """REQUESTS chat completions through the proxy with the openai SDK; their request ids."""
    client = openai.OpenAI(base_url=f"{proxy_url}/v1", api_key=key, max_retries=0, timeout=30)
    request_ids = []
    for n in range(REQUESTS):
        model = MODELS[n % len(MODELS)]
        messages = [{"role": "user", "content": f"reconciliation request {n}: say something short"}]
        if n % 2:
            raw = client.chat.completions.with_raw_response.create(
                model=model, messages=messages, max_tokens=40, stream=True,
                stream_options={"include_usage": True},
            )
            chunks = list(raw.parse())
            assert sum(c.usage is not None for c in chunks) == 1, "one usage chunk with include_usage"
        else:
            raw = client.chat.completions.with_raw_response.create(model=model, messages=messages, max_tokens=40)
            assert raw.parse().usage is not None
        request_ids.append(raw.headers["x-request-id"])
    return request_ids


def _ledger_rows(engine: Engine, request_ids: list[str]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM usage_ledger WHERE request_id = ANY(:ids) ORDER BY created_at"),
            {"ids": request_ids},
        ).all()
    return [dict(r._mapping) for r in rows]


def _generation(client: httpx.Client, base_url: str, generation_id: str) -> dict[str, Any]:
    response = client.get(f"{base_url}/generation", params={"id": generation_id})
    response.raise_for_status()
    return json.loads(response.content, parse_float=Decimal)["data"]


def test_traffic_through_the_proxy_reconciles_to_exactly_the_injected_faults(proxy_db, emulator, proxy, tmp_path):
    proxy_url, app = proxy
    key, key_id = support.new_key(proxy_db, KEY_NAME)
    support.await_key(app, key)

    # 1. Traffic through the proxy; wait until the ledger writer has flushed every row.
    request_ids = _send_traffic(proxy_url, key)
    support.wait_for(
        lambda: len(rows := _ledger_rows(proxy_db, request_ids)) == REQUESTS
        and all(r["cost_usd"] is not None for r in rows),
        timeout=20,
    )
    ledger = _ledger_rows(proxy_db, request_ids)
    assert all(r["status"] == "ok" and r["cost_source"] == "response" and r["generation_id"] for r in ledger)
    assert {r["model_used"] for r in ledger} == set(MODELS)
    assert sum(r["streamed"] for r in ledger) == REQUESTS // 2
    assert all(str(r["api_key_id"]) == key_id for r in ledger)
    # our catalog prices are the emulator's: without the injected drift, estimate == charge
    assert all(r["cost_estimated_usd"] == r["cost_usd"] for r in ledger), [
        (r["model_used"], r["cost_estimated_usd"], r["cost_usd"]) for r in ledger
        if r["cost_estimated_usd"] != r["cost_usd"]]
    generation_ids = [r["generation_id"] for r in ledger]
    assert len(set(generation_ids)) == REQUESTS

    # 2. The bills: the per-generation CSV export (from GET /generation) and /activity.
    with proxy_db.connect() as conn:
        slugs = dict(conn.execute(text("SELECT id, canonical_slug FROM ai_models WHERE id = ANY(:m)"),
                                  {"m": list(MODELS)}).all())
    with httpx.Client(timeout=30, headers={"Authorization": "Bearer management"}) as client:
        generations = {gid: _generation(client, emulator, gid) for gid in generation_ids}
        activity = client.get(f"{emulator}/activity")
        activity.raise_for_status()
    for row in ledger:  # the bill charges what the response said
        assert generations[row["generation_id"]]["total_cost"] == row["cost_usd"]

    # 3. The faults, each on its own generation (ledger order: one of each model among them).
    lost, unbilled, drift, dup, cent = (ledger[i] for i in range(5))
    with proxy_db.begin() as conn:
        conn.execute(text("DELETE FROM usage_ledger WHERE request_id = :r"), {"r": lost["request_id"]})
        conn.execute(text("UPDATE usage_ledger SET cost_estimated_usd = cost_estimated_usd + :d "
                          "WHERE request_id = :r"), {"d": DRIFT, "r": drift["request_id"]})
        replay = f"replay-{dup['request_id']}"
        columns = [c for c in dup if c not in ("request_id", "created_at")]
        conn.execute(
            text(f"INSERT INTO usage_ledger (request_id, created_at, {', '.join(columns)}) "
                 f"SELECT :replay, created_at + interval '1 millisecond', {', '.join(columns)} "
                 f"FROM usage_ledger WHERE request_id = :r"),
            {"replay": replay, "r": dup["request_id"]},
        )
    csv_rows = []
    for gid in generation_ids:
        if gid == unbilled["generation_id"]:
            continue
        data = generations[gid]
        row = row_from_generation(data, permaslug=slugs[data["model"]], api_key_name=KEY_NAME)
        if gid == cent["generation_id"]:
            row["cost_total"] = row["cost_total"] + CENT
        csv_rows.append(row)
    csv_bill = generation_csv(csv_rows)

    # 4. Import the bills and reconcile the day(s) of the traffic.
    days = sorted({r["created_at"].date() for r in ledger} | {
        datetime.fromisoformat(g["created_at"]).date() for g in generations.values()})
    period = Period(days[0] - timedelta(days=1), days[-1])
    assert sc.today() in days
    imports = [
        import_bill_bytes(proxy_db, csv_bill, file_name="openrouter-export.csv"),
        import_bill_bytes(proxy_db, activity.content, file_name="activity.json"),
    ]
    run_id, outcome, paths = _run(proxy_db, period, imports, tmp_path)

    # 5. Exactly the injected faults, every other generation matched.
    items = _db_items(proxy_db, run_id)
    expected = {gid: "matched" for gid in generation_ids}
    expected[lost["generation_id"]] = "missing_in_ledger"
    expected[unbilled["generation_id"]] = "missing_in_bill"
    expected[drift["generation_id"]] = "price_drift"
    expected[cent["generation_id"]] = "amount_mismatch"
    expected[replay] = "duplicate"
    assert sc.item_classes(items, "generation") == expected

    by_class: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_class.setdefault(item["classification"], []).append(item)
    assert {c: len(v) for c, v in by_class.items()} == {
        "matched": REQUESTS - 4, "missing_in_ledger": 1, "missing_in_bill": 1, "price_drift": 1,
        "duplicate": 1, "amount_mismatch": 1,
    }
    (mismatch,) = by_class["amount_mismatch"]
    assert mismatch["generation_id"] == cent["generation_id"] and mismatch["delta_usd"] == CENT
    (missing,) = by_class["missing_in_ledger"]
    assert missing["delta_usd"] == lost["cost_usd"] and missing["bill_line_id"] is not None
    (unbilled_item,) = by_class["missing_in_bill"]
    assert unbilled_item["delta_usd"] == -unbilled["cost_usd"] and unbilled_item["api_key_id"] == key_id
    (drift_item,) = by_class["price_drift"]
    assert drift_item["delta_usd"] == 0 and drift_item["generation_id"] == drift["generation_id"]
    (dup_item,) = by_class["duplicate"]
    assert dup_item["generation_id"] == dup["generation_id"] and dup_item["ledger_request_id"] == replay
    assert all(i["delta_usd"] == 0 for i in by_class["matched"])

    summary = outcome.summary
    assert summary.superseded_lines == len(json.loads(activity.content)["data"]) > 0  # /activity set aside
    assert summary.bill_total_usd == sum(r["cost_usd"] for r in ledger if r is not unbilled) + CENT
    with proxy_db.connect() as conn:
        run = conn.execute(text("SELECT * FROM reconciliation_runs WHERE id = :r"), {"r": run_id}).one()
    assert run.status == "succeeded"
    assert run.item_counts == {"matched": REQUESTS - 4, "amount_mismatch": 1, "missing_in_ledger": 1,
                               "missing_in_bill": 1, "price_drift": 1, "duplicate": 1}
    assert all(Path(paths[kind]).is_file() for kind in ("csv", "parquet", "html"))
