"""The ledger: one usage_ledger and one routing_decisions row per accepted request, and the
spool carrying rows over a database outage (none lost, none doubled)."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Iterator

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.gateway import support
from tests.gateway.support import A, wait_for

BODY = {"model": A, "messages": [{"role": "user", "content": "ledger"}], "max_tokens": 20}


def _count(engine, table: str, ids: list[str]) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE request_id = ANY(:ids)"), {"ids": ids}).scalar()


def test_every_accepted_request_has_exactly_one_row_of_each(gw_url, api_key, gw_engine) -> None:
    ids = []
    with httpx.Client(timeout=30) as client:
        for i in range(6):
            body = {**BODY, "stream": i % 2 == 1}
            response = client.post(f"{gw_url}/v1/chat/completions", json=body,
                                   headers={"Authorization": f"Bearer {api_key}"})
            assert response.status_code == 200
            ids.append(response.headers["x-request-id"])
    wait_for(lambda: _count(gw_engine, "usage_ledger", ids) == 6 and _count(gw_engine, "routing_decisions", ids) == 6)


class Switch:
    """A TCP forwarder to PostgreSQL that can refuse connections (the database 'away')."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = False
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped = True
        self.server.close()
        for conn in self.conns:
            conn.close()


@contextmanager
def switch_for(db_url: str) -> Iterator[tuple[Switch, str]]:
    url = make_url(db_url)
    switch = Switch((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield switch, url.set(host="127.0.0.1", port=switch.port).render_as_string(hide_password=False)
    finally:
        switch.close()


def test_spool_carries_rows_over_a_database_outage(gw_db_url, gw_engine, upstream, tmp_path) -> None:
    key = support.new_key(gw_engine, "outage")[0]
    with switch_for(gw_db_url) as (switch, ledger_url):
        config = support.test_config(tmp_path, ledger_database_url=ledger_url)
        app = support.build_app(support.settings_for(gw_db_url, upstream, tmp_path), config)
        with support.serve(app) as url, httpx.Client(timeout=30) as client:
            ids = []
            for i in range(8):  # the ledger database is away: requests are served all the same
                response = client.post(f"{url}/v1/chat/completions", json={**BODY, "stream": i % 2 == 0},
                                       headers={"Authorization": f"Bearer {key}"})
                assert response.status_code == 200
                ids.append(response.headers["x-request-id"])
            writer = app.state.gateway.writer
            wait_for(lambda: writer.stats.flush_failures >= 1)
            assert _count(gw_engine, "usage_ledger", ids) == 0
            assert "minerva_gateway_spool_rows 16.0" in client.get(f"{url}/metrics").text
            switch.up = True  # the database is back
            wait_for(lambda: _count(gw_engine, "usage_ledger", ids) == 8, timeout=20)
            wait_for(lambda: _count(gw_engine, "routing_decisions", ids) == 8)
    assert _count(gw_engine, "usage_ledger", ids) == 8  # none doubled after the final flush
    assert _count(gw_engine, "routing_decisions", ids) == 8


def test_a_killed_flusher_is_restarted_and_loses_nothing(gw_url, api_key, gw_engine, gw_app) -> None:
    import os
    import signal

    ledger = gw_app.state.gateway.writer
    before = ledger.stats.restarts
    os.kill(ledger._child.pid, signal.SIGKILL)
    ids = []
    with httpx.Client(timeout=30) as client:
        for _ in range(3):
            response = client.post(f"{gw_url}/v1/chat/completions", json=BODY,
                                   headers={"Authorization": f"Bearer {api_key}"})
            assert response.status_code == 200
            ids.append(response.headers["x-request-id"])
    wait_for(lambda: ledger.stats.restarts > before)
    wait_for(lambda: _count(gw_engine, "usage_ledger", ids) == 3, timeout=20)
