"""Gateway test fixtures: one migrated scratch database with the real catalog, one emulator
subprocess, and one gateway server (real uvicorn) for the whole package; tests that need
other settings start their own app with ``support.build_app`` + ``support.serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from tests.gateway import support
from tests.support.emulator import clear_faults, running_emulator


@pytest.fixture(scope="session")
def gw_db_url() -> Iterator[str]:
    with support.catalog_database("minerva_gateway") as url:
        yield url


@pytest.fixture(scope="session")
def gw_engine(gw_db_url: str) -> Iterator[Engine]:
    engine = create_engine(gw_db_url, pool_size=5, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def upstream() -> Iterator[str]:
    with running_emulator(seed=7) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def gw_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway_home")


@pytest.fixture(scope="session")
def gateway(gw_db_url: str, upstream: str, gw_home: Path) -> Iterator[tuple[str, object]]:
    """(base URL, app) of the shared gateway server."""
    settings = support.settings_for(gw_db_url, upstream, gw_home)
    # No version poll to speak of: changes must reach this gateway by NOTIFY.
    app = support.build_app(settings, support.test_config(gw_home, cooldown_threshold=1000, reload_poll_s=300,
                                                      max_queue_waiters=3))
    with support.serve(app) as url:
        yield url, app


@pytest.fixture()
def gw_url(gateway: tuple[str, object], upstream: str) -> Iterator[str]:
    clear_faults(upstream)
    yield gateway[0]
    clear_faults(upstream)


@pytest.fixture()
def gw_app(gateway: tuple[str, object]) -> object:
    return gateway[1]


@pytest.fixture(scope="session")
def api_key(gw_engine: Engine, gateway: tuple[str, object]) -> str:
    key = support.new_key(gw_engine, "shared")[0]
    support.await_key(gateway[1], key)
    return key


@pytest.fixture()
def make_key(gw_engine: Engine, gateway: tuple[str, object]):
    """Create a key and wait until the shared gateway knows it."""

    def make(name: str = "test", **options: object) -> tuple[str, str]:
        key, key_id = support.new_key(gw_engine, name, **options)
        support.await_key(gateway[1], key)
        return key, key_id

    return make
