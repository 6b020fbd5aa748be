"""FlagResolver on real PostgreSQL: cached (no query per read), TTL, invalidate, LISTEN,
and the last known state kept when the database is away."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import create_engine, text

from minerva_core.db.engine import libpq_url
from minerva_core.errors import FeatureDisabledError
from minerva_core.flags import FlagResolver, delete_override, set_override
from minerva_core.settings import load_settings

ROUTING = "ENABLE_OPENROUTER_ROUTING"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clean(engine):
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM feature_flags"))


def test_cached_until_ttl_or_invalidate(engine, clean):
    clock = Clock()
    resolver = FlagResolver(load_settings({}), engine, deployment="default", max_age_s=30, clock=clock)
    assert resolver.get("routing").enabled is True and resolver.loads == 1
    for _ in range(100):
        resolver.get("routing")
    assert resolver.loads == 1  # no query per read

    with engine.begin() as conn:
        set_override(conn, "routing", "default", False, actor="test")
    assert resolver.get("routing").enabled is True  # still cached
    clock.now += 31
    state = resolver.get("routing")
    assert (state.enabled, state.source, resolver.loads) == (False, "deployment_override", 2)

    with engine.begin() as conn:
        delete_override(conn, "routing", "default", actor="test")
    resolver.invalidate()
    assert resolver.get("routing").enabled is True and resolver.loads == 3


def test_require_raises_feature_disabled(engine, clean):
    with engine.begin() as conn:
        set_override(conn, "routing", "*", False, actor="test", note="drill")
    resolver = FlagResolver(load_settings({}), engine, deployment="eu-1")
    with pytest.raises(FeatureDisabledError) as info:
        resolver.require("routing")
    err = info.value
    assert (err.status_code, err.code, err.param) == (503, "feature_disabled", ROUTING)
    assert err.details == {"flag": ROUTING, "area": "routing", "deployment": "eu-1",
                           "source": "database override for every deployment ('*') by test: drill"}


def test_database_away_keeps_last_known_state(engine, clean):
    with engine.begin() as conn:
        set_override(conn, "routing", "default", False, actor="test")
    clock = Clock()
    resolver = FlagResolver(load_settings({}), engine, deployment="default", max_age_s=1, clock=clock)
    assert resolver.get("routing").enabled is False
    resolver.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
                                    connect_args={"connect_timeout": 1})
    clock.now += 5
    assert resolver.get("routing").enabled is False  # the last known value stands
    assert resolver.last_error and "unreadable" in resolver.last_error

    never_loaded = FlagResolver(load_settings({"ENABLE_OPENROUTER_ROUTING": "true"}), resolver.engine,
                                deployment="default")
    state = never_loaded.get("routing")
    assert (state.enabled, state.source) == (True, "environment")


def test_listen_reloads_on_notify(mig_db, clean):
    url, engine = mig_db

    async def scenario() -> bool:
        resolver = FlagResolver(load_settings({}), engine, deployment="default", max_age_s=3600)
        task = asyncio.create_task(resolver.run(libpq_url(url)))
        try:
            deadline = time.monotonic() + 10
            while not resolver.listening and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert resolver.listening and resolver.peek("routing").enabled is True
            await asyncio.to_thread(_disable, engine)
            while resolver.peek("routing").enabled and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return resolver.peek("routing").enabled
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    assert asyncio.run(scenario()) is False  # the TTL is an hour: only the notification explains it


def _disable(engine) -> None:
    with engine.begin() as conn:
        set_override(conn, "routing", "default", False, actor="test")
