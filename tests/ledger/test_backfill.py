"""The cost backfill: pure parts on literal data, then the flow under Prefect against the
emulator (a real subprocess whose /generation answers 404 for a while) and real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from minerva_core.errors import AuthenticationError, ServerError, UpstreamProtocolError
from minerva_core.ledger.backfill import (
    Backoff,
    GenerationCharge,
    PendingRow,
    plan_updates,
    read_generation,
    resolve_generations,
    token_fill,
)
from minerva_core.ledger.backfill_store import report_missing, select_pending, write_charges
from tests.conftest import OPENROUTER_FIXTURES
from tests.support.database import scratch_database
from tests.support.emulator import running_emulator

RESPONSES = OPENROUTER_FIXTURES / "responses"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def test_the_pure_side_imports_no_io_framework():
    import ast

    import minerva_core.ledger.backfill as pure

    tree = ast.parse(Path(pure.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"httpx", "sqlalchemy", "prefect", "fastapi", "psycopg"}


# -- reading /generation exactly ----------------------------------------------------------


def test_recorded_generation_body_reads_exactly():
    charge = read_generation((RESPONSES / "derived-generation-response-2026-02-24.json").read_bytes())
    assert charge.generation_id == "gen-1771967973-0hZ8J5kY7qLMOKbPx0u3"
    assert charge.total_cost == Decimal("0.00003452") and isinstance(charge.total_cost, Decimal)
    assert charge.native_tokens == {
        "prompt_tokens": 64, "completion_tokens": 98, "reasoning_tokens": 0, "cached_tokens": 0,
    }
    assert charge.is_byok is False
    partial = read_generation((RESPONSES / "derived-generation-response-2026-02-25-partial.json").read_bytes())
    assert partial.total_cost == Decimal("0.0001402")
    assert partial.native_tokens["prompt_tokens"] is None


def test_digits_beyond_a_float_survive():
    body = b'  {"data": {"id": "gen-1", "total_cost": 0.0000123456789012345678901234}}'
    assert read_generation(body).total_cost == Decimal("0.0000123456789012345678901234")
    assert read_generation(b'{"data": {"id": "g", "total_cost": 3.452e-05}}').total_cost == Decimal("0.00003452")
    assert read_generation(b'{"data": {"id": "g", "total_cost": 0}}').total_cost == Decimal(0)


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"data": null}', b'{"data": {"id": "g"}}',
    b'{"data": {"id": "g", "total_cost": null}}', b'{"data": {"id": "g", "total_cost": -0.1}}',
    b'{"data": {"id": "g", "total_cost": true}}', b'{"data": {"id": "g", "total_cost": "abc"}}',
])
def test_unusable_generation_bodies_are_protocol_errors(body):
    with pytest.raises(UpstreamProtocolError):
        read_generation(body)


# -- what gets written --------------------------------------------------------------------


def _row(gid: str, **tokens) -> PendingRow:
    base = {"prompt_tokens": 0, "completion_tokens": 0, "reasoning_tokens": 0, "cached_tokens": 0}
    return PendingRow(f"req-{gid}", T0, gid, {**base, **tokens})


def _charge(gid: str, cost: str, **native) -> GenerationCharge:
    return GenerationCharge(gid, Decimal(cost), native)


def test_only_zero_token_columns_take_the_native_counts():
    row = _row("g1", completion_tokens=5)
    charge = _charge("g1", "0.01", prompt_tokens=64, completion_tokens=98, reasoning_tokens=0, cached_tokens=None)
    assert token_fill(row, charge) == {"prompt_tokens": 64}


def test_plan_updates_skips_rows_whose_generation_was_not_found():
    rows = [_row("g1"), _row("g2"), _row("g1", prompt_tokens=3)]
    updates = plan_updates(rows, {"g1": _charge("g1", "0.5", prompt_tokens=7)})
    assert [(u.request_id, u.cost_usd, dict(u.token_fill)) for u in updates] == [
        ("req-g1", Decimal("0.5"), {"prompt_tokens": 7}),
        ("req-g1", Decimal("0.5"), {}),
    ]


def test_backoff_is_exponential_and_bounded():
    assert Backoff().delays() == (0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0)
    assert Backoff(max_total_seconds=1.0).delays() == (0.25, 0.5, 0.25)
    assert Backoff(attempts=1).delays() == ()
    assert Backoff(settle_seconds=600).delays(age_seconds=3600) == (), "an old id gets one try per run"


# -- resolving through 404s (fake fetch) --------------------------------------------------


def _body(gid: str, cost: str) -> bytes:
    return f'{{"data": {{"id": "{gid}", "total_cost": {cost}}}}}'.encode()


def test_resolve_waits_through_404s_and_sorts_out_every_id():
    calls: dict[str, int] = {}
    waits: list[float] = []
    in_flight = peak = 0

    async def fetch(gid: str):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        calls[gid] = calls.get(gid, 0) + 1
        if gid == "late":
            return None if calls[gid] < 3 else _body(gid, "0.000000123456789012345678901")
        if gid == "flaky":
            raise ServerError("boom", status_code=503)
        if gid == "garbled":
            return b'{"data": {"id": "garbled"}}'
        if gid.startswith("ok"):
            return _body(gid, "0.25")
        return None

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    ages = {"late": 1.0, "never": 2.0, "flaky": 0.0, "garbled": 0.0, "ok1": 0.0, "ok2": 0.0, "ok3": 0.0}
    out = asyncio.run(resolve_generations(ages, fetch, backoff=Backoff(attempts=4, max_total_seconds=5),
                                          concurrency=2, sleep=sleep))
    assert out.charges["late"].total_cost == Decimal("0.000000123456789012345678901")
    assert sorted(out.charges) == ["late", "ok1", "ok2", "ok3"]
    assert out.not_found == ["never"] and calls["never"] == 4
    assert set(out.failed) == {"flaky"} and set(out.invalid) == {"garbled"}
    assert out.retried_404 == 2 + 3
    assert sorted(waits) == sorted([0.25, 0.5] + [0.25, 0.5, 1.0])
    assert peak <= 2


def test_an_auth_failure_fails_the_whole_resolution():
    async def fetch(gid: str):
        raise AuthenticationError("no key", status_code=401)

    with pytest.raises(AuthenticationError):
        asyncio.run(resolve_generations({"a": 0.0, "b": 0.0}, fetch))


# -- on PostgreSQL ------------------------------------------------------------------------


@pytest.fixture()
def ledger_db(monkeypatch):
    """A fresh migrated database per test (the missing-cost report counts every row)."""
    from flows import _runtime
    from minerva_core.db import migrate

    with scratch_database("minerva_backfill") as url:
        engine = create_engine(url)
        migrate.upgrade(engine)
        monkeypatch.setenv("MINERVA_DATABASE_URL", url)
        monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
        try:
            yield engine
        finally:
            engine.dispose()
            _runtime.engine_for.cache_clear()


def _insert(engine, request_id: str, generation_id: str, *, created_at: datetime | None = None,
            cost: Decimal | None = None, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
    with engine.begin() as conn:
        when = created_at or conn.execute(text("SELECT now()")).scalar_one()
        conn.execute(text("SELECT ensure_usage_ledger_partition(:t)"), {"t": when})
        conn.execute(
            text(
                "INSERT INTO usage_ledger (request_id, created_at, generation_id, model_used, status, "
                "prompt_tokens, completion_tokens, cost_usd, cost_source) VALUES (:r, :t, :g, "
                "'openai/gpt-4o-mini', 'ok', :p, :c, :cost, :src)"
            ),
            {"r": request_id, "t": when, "g": generation_id, "p": prompt_tokens, "c": completion_tokens,
             "cost": cost, "src": "response" if cost is not None else None},
        )


def _ledger(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT request_id, cost_usd, cost_source, cost_updated_at, prompt_tokens, completion_tokens "
            "FROM usage_ledger"
        )).all()
    return {r.request_id: r for r in rows}


def test_a_charge_that_arrived_meanwhile_is_never_overwritten(ledger_db):
    _insert(ledger_db, "race", "gen-race")
    with ledger_db.begin() as conn:
        pending = select_pending(conn, since=T0 - timedelta(days=400), limit=10)
    assert [p.request_id for p in pending] == ["race"]
    with ledger_db.begin() as conn:  # the proxy (or another run) gets there first
        conn.execute(text("UPDATE usage_ledger SET cost_usd = 0.7, cost_source = 'response' "
                          "WHERE request_id = 'race'"))
    updates = plan_updates(pending, {"gen-race": _charge("gen-race", "0.0001", prompt_tokens=9)})
    with ledger_db.begin() as conn:
        assert write_charges(conn, updates) == 0
    row = _ledger(ledger_db)["race"]
    assert (row.cost_usd, row.cost_source, row.prompt_tokens) == (Decimal("0.7"), "response", 0)


def test_pending_selection_is_oldest_first_bounded_and_inside_the_window(ledger_db):
    now = datetime.now(timezone.utc)
    for hours in (1, 5, 3, 100):
        _insert(ledger_db, f"h{hours}", f"gen-h{hours}", created_at=now - timedelta(hours=hours))
    _insert(ledger_db, "charged", "gen-charged", created_at=now - timedelta(hours=2), cost=Decimal("1"))
    with ledger_db.connect() as conn:
        rows = select_pending(conn, since=now - timedelta(hours=72), limit=2)
    assert [r.request_id for r in rows] == ["h5", "h3"]


# -- the flow, against the emulator -------------------------------------------------------

#: Prices with more significant digits than a float holds: a float anywhere would show.
LONG_PROMPT = "0.0000001234567890123456789"
LONG_COMPLETION = "0.0000006172839450617283945"


@pytest.fixture(scope="module")
def long_price_snapshot(tmp_path_factory) -> Path:
    body = json.loads((OPENROUTER_FIXTURES / "models-2026-08-19.json").read_text())
    for model in body["data"]:
        if model["id"] == "openai/gpt-4o-mini":
            model["pricing"]["prompt"] = LONG_PROMPT
            model["pricing"]["completion"] = LONG_COMPLETION
    path = tmp_path_factory.mktemp("snapshots") / "long-prices.json"
    path.write_text(json.dumps(body))
    return path


def _chat(base_url: str, text_: str, model: str = "openai/gpt-4o-mini") -> str:
    response = httpx.post(
        f"{base_url}/chat/completions", headers={"authorization": "Bearer test"}, timeout=30,
        json={"model": model, "messages": [{"role": "user", "content": text_}]},
    )
    response.raise_for_status()
    return response.json()["id"]


class SlowChat(threading.Thread):
    """A chat whose answer takes ``ttft_ms``: its id (X-Generation-Id) is known at once, but
    the generation only finishes, and starts its /generation delay, when the answer ends."""

    def __init__(self, base_url: str, content: str, ttft_ms: int) -> None:
        super().__init__(daemon=True)
        self.base_url, self.content, self.ttft_ms = base_url, content, ttft_ms
        self.generation_id: str | None = None
        self.started_answer = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client, client.stream(
            "POST", f"{self.base_url}/chat/completions",
            headers={"authorization": "Bearer test", "x-emulator-ttft-ms": str(self.ttft_ms)},
            json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": self.content}]},
        ) as response:
            self.generation_id = response.headers["x-generation-id"]
            self.started_answer.set()
            response.read()

    def begin(self) -> str:
        self.start()
        assert self.started_answer.wait(10), "the emulator did not answer"
        return self.generation_id


def _generation_cost(base_url: str, generation_id: str) -> Decimal:
    response = httpx.get(f"{base_url}/generation", params={"id": generation_id},
                         headers={"authorization": "Bearer test"}, timeout=10)
    response.raise_for_status()
    return json.loads(response.content, parse_float=Decimal)["data"]["total_cost"]


def _alerts(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT kind, severity, fingerprint, payload FROM alert_events "
            "WHERE kind = 'ledger.cost_missing' ORDER BY id"
        )).all()


@pytest.mark.slow
def test_flow_retries_through_404s_and_fills_every_charge_exactly(
    prefect_harness, ledger_db, monkeypatch, long_price_snapshot
):
    from flows.backfill import backfill_costs

    with running_emulator(snapshot=str(long_price_snapshot), generation_delay_ms=800) as base_url:
        monkeypatch.setenv("OPENROUTER_BASE_URL", base_url)
        assert backfill_costs()["pending"] == 0  # an empty ledger; also warms Prefect up
        # Answers that end 3.5-4.5 s from now, so /generation answers 404 until ~0.8 s later.
        chats = {f"req-{i}": SlowChat(base_url, f"question number {i} " * (i + 1), 3500 + 200 * i)
                 for i in range(6)}
        gens = {rid: chat.begin() for rid, chat in chats.items()}
        charged_gen = _chat(base_url, "this one was charged by the proxy")
        for i, (rid, gid) in enumerate(gens.items()):
            _insert(ledger_db, rid, gid, prompt_tokens=0 if i % 2 else 11, completion_tokens=0)
        _insert(ledger_db, "req-charged", charged_gen, cost=Decimal("0.5"))

        result = backfill_costs(concurrency=4)
        for chat in chats.values():
            chat.join(10)
        truth = {rid: _generation_cost(base_url, gid) for rid, gid in gens.items()}

        assert result["pending"] == 6 and result["found"] == 6 and result["written"] == 6
        assert result["retried_404"] > 0, "the flow ran while /generation still answered 404"
        assert result["still_pending"] == 0 and result["newly_missing"] == 0
        ledger = _ledger(ledger_db)
        for i, rid in enumerate(gens):
            row = ledger[rid]
            assert row.cost_usd == truth[rid], rid
            assert row.cost_source == "generation_api" and row.cost_updated_at is not None
            assert row.completion_tokens > 0, "a zero count takes the generation's native count"
            assert row.prompt_tokens == 11 if i % 2 == 0 else row.prompt_tokens > 0
        assert any(Decimal(repr(float(c))) != c for c in truth.values()), "prices too short to tell floats"
        assert (ledger["req-charged"].cost_usd, ledger["req-charged"].cost_source) == (Decimal("0.5"), "response")

        again = backfill_costs(concurrency=4)
        assert again["pending"] == 0 and again["written"] == 0
        assert _ledger(ledger_db) == ledger, "a second run changes nothing"
    assert _alerts(ledger_db) == []


@pytest.mark.slow
def test_unknown_generation_stays_null_and_alerts_once_past_the_lookback(prefect_harness, ledger_db, monkeypatch):
    from flows.backfill import backfill_costs

    now = datetime.now(timezone.utc)
    _insert(ledger_db, "old-unknown", f"gen-unknown-{uuid.uuid4().hex}", created_at=now - timedelta(hours=73))
    _insert(ledger_db, "young-unknown", f"gen-unknown-{uuid.uuid4().hex}", created_at=now - timedelta(hours=2))
    fresh_gid = None
    with running_emulator(generation_delay_ms=300) as base_url:
        monkeypatch.setenv("OPENROUTER_BASE_URL", base_url)
        fresh_gid = _chat(base_url, "fresh")
        _insert(ledger_db, "fresh-unknown", f"gen-unknown-{uuid.uuid4().hex}")
        _insert(ledger_db, "fresh-known", fresh_gid)

        first = backfill_costs(lookback_hours=72, max_wait_seconds=1.5)
        assert first["pending"] == 3 and first["found"] == 1 and first["not_found"] == 2
        assert first["missing_past_lookback"] == 1 and first["newly_missing"] == 1
        (alert,) = _alerts(ledger_db)
        assert alert.severity == "warning" and alert.payload["count"] == 1
        assert [s["request_id"] for s in alert.payload["sample"]] == ["old-unknown"]

        second = backfill_costs(lookback_hours=72, max_wait_seconds=1.5)
        assert second["newly_missing"] == 0 and second["alert_id"] is None
        assert len(_alerts(ledger_db)) == 1, "the same missing row is alerted once"

        # An hour's lookback puts the 2-hour-old unknown row past it: alerted, once.
        third = backfill_costs(lookback_hours=1, max_wait_seconds=1.5)
        assert third["missing_past_lookback"] == 2 and third["newly_missing"] == 1
        fourth = backfill_costs(lookback_hours=1, max_wait_seconds=1.5)
        assert fourth["newly_missing"] == 0
    alerts = _alerts(ledger_db)
    assert [a.payload["sample"][0]["request_id"] for a in alerts] == ["old-unknown", "young-unknown"]
    ledger = _ledger(ledger_db)
    assert all(ledger[r].cost_usd is None for r in ("old-unknown", "young-unknown", "fresh-unknown"))
    assert ledger["fresh-known"].cost_source == "generation_api"
