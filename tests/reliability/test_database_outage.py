"""PostgreSQL stopped while a real proxy process serves under load.

The proxy's database is a private cluster (the shared server is never stopped). Mid-load
the server is stopped with ``pg_ctl -m immediate`` (a crash: every connection cut, no
checkpoint); requests keep being routed from the proxy's in-memory snapshot and answered
200, their rows waiting in the spool; once the server is back, every answered request has
exactly one ledger row (none lost, none doubled) within a deadline.
"""

from __future__ import annotations

import time
from typing import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from minerva_core.db import migrate
from tests.gateway import support
from tests.gateway.support import A
from tests.reliability.ledger_checks import await_exactly_one_row_each, ledger_counts, problems
from tests.support.chat_load import ChatLoad
from tests.support.private_postgres import PrivatePostgres, private_postgres
from tests.support.proxy_runner import running_proxy

pytestmark = pytest.mark.slow

OUTAGE_S = 3.0
RECOVERY_DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


def test_requests_are_served_through_a_database_crash_and_every_row_lands_once(pg, plain_upstream, tmp_path) -> None:
    url = pg.create_database("minerva")
    engine = create_engine(url, pool_pre_ping=True)
    try:
        migrate.upgrade(engine)
        support.load_catalog(engine)
        key, key_id = support.new_key(engine, "outage")
        with running_proxy(url, plain_upstream, tmp_path / "proxy") as proxy:
            with ChatLoad(proxy.url, key, A, threads=4) as load:
                load.wait_for_more(40)
                engine.dispose()
                pg.stop(mode="immediate")
                down_from = time.monotonic()
                load.wait_for_more(40)  # served while the database is down
                # ...and a load balancer keeps sending traffic: ready, degraded, not 503.
                ready = httpx.get(f"{proxy.url}/readyz", timeout=10)
                assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
                assert ready.json()["checks"]["database"]["ok"] is False
                time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_from)))
                up_from = time.monotonic()
                pg.start()
                load.wait_for_more(40)
            answers = load.answers
            during = [a for a in answers if down_from < a.at < up_from]

            assert not load.failures, load.failures[:5]
            assert {a.status for a in answers} == {200}, [a for a in answers if a.status != 200][:5]
            assert len(during) >= 40 and {a.stream for a in during} == {True, False}
            ids = [a.request_id for a in answers]
            assert len(set(ids)) == len(ids)
            counts = await_exactly_one_row_each(engine, ids, timeout=RECOVERY_DEADLINE_S)
            assert not problems(counts), (problems(counts), proxy.log())
            # The spool held the outage's rows: they reached the table after the restart.
            with engine.connect() as conn:
                total = conn.execute(text("SELECT count(*) FROM usage_ledger WHERE api_key_id = :k"),
                                     {"k": key_id}).scalar_one()
            assert total == len(ids)
            assert ledger_counts(engine, [a.request_id for a in during]).total() == len(during)
    finally:
        engine.dispose()
