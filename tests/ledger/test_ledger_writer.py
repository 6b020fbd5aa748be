"""The ledger write path on real PostgreSQL: batches arrive, the database going away only
delays rows, a killed writer's spool is replayed by the next, and nothing is doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from minerva_core.db import migrate
from minerva_core.db.engine import libpq_url
from minerva_core.ledger import DecisionRow, LedgerRow, LedgerWriter
from minerva_core.ledger.spool import Spool, read_segment
from tests.support.database import scratch_database


@pytest.fixture()
def ledger_db():
    with scratch_database("minerva_ledger") as url:
        engine = create_engine(url)
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("SELECT ensure_usage_ledger_partition(now())"))
        try:
            yield url, engine
        finally:
            engine.dispose()


def _rows(n: int, tag: str):
    now = datetime.now(timezone.utc)
    for i in range(n):
        rid = f"{tag}-{i}"
        yield (
            LedgerRow(
                request_id=rid, created_at=now, status="ok", model_used="openai/gpt-4o",
                prompt_tokens=10 + i, completion_tokens=5, cost_usd=Decimal("0.000012345678901234567891"),
                cost_source="response", cost_estimated_usd=Decimal("0.0000123"), usage={"cost": 1.2e-05},
            ),
            DecisionRow(request_id=rid, created_at=now, selected_model="openai/gpt-4o", attempts=[{"model": "openai/gpt-4o", "status": 200}],
                        reasoning={"why": "cheapest"}, estimated_cost=Decimal("0.0000123"), outcome="ok"),
        )


def _count(engine, table="usage_ledger", like="%"):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE request_id LIKE :l"), {"l": like}).scalar()


def test_rows_arrive_in_batches_with_exact_money(ledger_db, tmp_path):
    url, engine = ledger_db

    async def main():
        writer = LedgerWriter(libpq_url(url), tmp_path / "spool", flush_interval=0.05)
        await writer.start()
        for ledger, decision in _rows(500, "batch"):
            writer.record(ledger, decision)
        await asyncio.sleep(0.5)
        await writer.stop()
        return writer.stats

    stats = asyncio.run(main())
    assert _count(engine, like="batch-%") == 500
    assert _count(engine, "routing_decisions", "batch-%") == 500
    assert stats.segments_flushed < 500, "rows are written in batches, not one by one"
    with engine.connect() as conn:
        cost = conn.execute(text("SELECT cost_usd FROM usage_ledger WHERE request_id = 'batch-0'")).scalar()
    assert cost == Decimal("0.000012345678901234567891")
    assert not list((tmp_path / "spool").glob("*.sealed"))



def test_a_flushed_batch_moves_its_keys_last_used_at_forward_only(ledger_db, tmp_path):
    url, engine = ledger_db
    with engine.begin() as conn:
        key_id = str(conn.execute(text(
            "INSERT INTO api_keys (name, key_hash, key_prefix) VALUES ('used', 'h-used', 'mk_u') RETURNING id"
        )).scalar_one())
        idle_id = str(conn.execute(text(
            "INSERT INTO api_keys (name, key_hash, key_prefix) VALUES ('idle', 'h-idle', 'mk_i') RETURNING id"
        )).scalar_one())
    early = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)
    late = datetime(2026, 11, 1, 11, 30, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(text("SELECT ensure_usage_ledger_partition(:t)"), {"t": early})

    async def write(rows):
        writer = LedgerWriter(libpq_url(url), tmp_path / "spool", flush_interval=0.05)
        await writer.start()
        for row in rows:
            writer.record(row)
        await asyncio.sleep(0.4)
        await writer.stop()

    def row(rid, at, key):
        return LedgerRow(request_id=rid, created_at=at, status="ok", model_used="openai/gpt-4o", api_key_id=key)

    asyncio.run(write([row("touch-1", early, key_id), row("touch-2", late, key_id), row("touch-3", early, None)]))
    with engine.connect() as conn:
        used = dict(conn.execute(text("SELECT name, last_used_at FROM api_keys")).all())
    assert used == {"used": late, "idle": None}
    asyncio.run(write([row("touch-4", early, key_id)]))  # an older row never moves it back
    with engine.connect() as conn:
        assert conn.execute(text("SELECT last_used_at FROM api_keys WHERE name = 'used'")).scalar() == late


def test_database_away_delays_rows_and_none_are_lost_or_doubled(ledger_db, tmp_path):
    url, engine = ledger_db
    bad_dsn = "postgresql://postgres@127.0.0.1:1/nowhere"

    async def main():
        writer = LedgerWriter(bad_dsn, tmp_path / "spool", flush_interval=0.05, max_backoff=0.2)
        await writer.start()
        for ledger, decision in _rows(300, "away"):
            writer.record(ledger, decision)
        await asyncio.sleep(0.6)
        assert writer.stats.flush_failures >= 1
        assert writer.spool.depth() >= 600
        writer._dsn = libpq_url(url)  # the database comes back
        await asyncio.sleep(1.0)
        await writer.stop()

    asyncio.run(main())
    assert _count(engine, like="away-%") == 300
    assert _count(engine, "routing_decisions", "away-%") == 300


def test_replaying_a_segment_twice_writes_each_row_once(ledger_db, tmp_path):
    url, engine = ledger_db
    spool = Spool(tmp_path / "spool")
    rows = [r for pair in _rows(50, "twice") for r in pair]
    spool.append(*rows)
    sealed = spool.close()
    copy = sealed.with_name("99999-000000000001.sealed")
    copy.write_bytes(sealed.read_bytes())
    assert len(list(read_segment(copy))) == 100

    async def main():
        writer = LedgerWriter(libpq_url(url), tmp_path / "spool")
        await writer.flush_ready()
        await writer.stop()

    asyncio.run(main())
    assert _count(engine, like="twice-%") == 50
    assert _count(engine, "routing_decisions", "twice-%") == 50


def test_killed_writer_spool_is_replayed_by_the_next_process(ledger_db, tmp_path):
    url, engine = ledger_db
    spool_dir = tmp_path / "spool"
    child = textwrap.dedent(
        f"""
        import os, sys, time
        from datetime import datetime, timezone
        from minerva_core.ledger import LedgerRow, Spool
        from pathlib import Path
        spool = Spool(Path({str(spool_dir)!r}))
        now = datetime.now(timezone.utc)
        for i in range(200):
            spool.append(LedgerRow(request_id=f"killed-{{i}}", created_at=now, status="ok"))
        print("written", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(spool_dir.glob("*.open")), "the killed writer left its open segment"

    async def main():
        writer = LedgerWriter(libpq_url(url), spool_dir)
        await writer.flush_ready()
        await writer.stop()

    asyncio.run(main())
    assert _count(engine, like="killed-%") == 200
    assert not list(spool_dir.glob("*.open")) or all(p.stat().st_size == 0 for p in spool_dir.glob("*.open"))


def test_live_writers_open_segment_is_not_stolen(tmp_path):
    first = Spool(tmp_path / "s")
    first.append(LedgerRow(request_id="live-1", created_at=datetime.now(timezone.utc), status="ok"))
    other = Spool(tmp_path / "s")
    assert other.ready_segments() == []
    sealed = first.rotate()
    assert other.ready_segments() == [sealed]
