"""The in-memory snapshot: reloaded on NOTIFY (no restart), never queried per request."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import event, text

from tests.gateway.support import A, wait_for


def test_new_strategy_is_routable_by_alias_within_a_second(gw_url, api_key, gw_engine, gw_app) -> None:
    alias = "team/fresh-cheap"
    with gw_engine.begin() as conn:
        conn.execute(text("DELETE FROM routing_strategies WHERE name = 'fresh-cheap'"))
    body = {"model": alias, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {api_key}"}
    wait_for(lambda: alias not in gw_app.state.gateway.snapshot.aliases)
    assert httpx.post(f"{gw_url}/v1/chat/completions", json=body, headers=headers).status_code == 404
    with gw_engine.begin() as conn:
        conn.execute(text("INSERT INTO routing_strategies (name, alias, kind) VALUES ('fresh-cheap', :a, 'cheapest')"),
                     {"a": alias})
    started = time.perf_counter()
    wait_for(lambda: httpx.post(f"{gw_url}/v1/chat/completions", json=body, headers=headers).status_code == 200,
             timeout=5, interval=0.02)
    # NOTIFY, not the (300 s) version poll: about a second (reload ~0.2 s on an idle machine)
    assert time.perf_counter() - started < 3
    ids = [m["id"] for m in httpx.get(f"{gw_url}/v1/models", headers=headers).json()["data"]]
    assert alias in ids


def test_no_database_query_on_the_request_path(gw_url, api_key, gw_app) -> None:
    gw = gw_app.state.gateway
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    wait_for(lambda: not gw.store._dirty.is_set() and not gw.store._lock.locked())
    event.listen(gw.engine, "before_cursor_execute", count)
    try:
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {api_key}"}) as client:
            for i in range(20):
                body = {"model": A if i % 2 else "minerva/cheapest", "stream": i % 3 == 0,
                        "messages": [{"role": "user", "content": f"request {i}"}]}
                assert client.post(f"{gw_url}/v1/chat/completions", json=body).status_code == 200
            assert client.get(f"{gw_url}/v1/models").status_code == 200
    finally:
        event.remove(gw.engine, "before_cursor_execute", count)
    assert statements == []
