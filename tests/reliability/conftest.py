"""Reliability fixtures: one migrated scratch database holding the real catalog (the same
snapshot the gateway tests load) for the whole package. Each module starts its own emulator
and proxy processes, with the settings it needs."""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from tests.gateway import support
from tests.support.emulator import running_emulator


@pytest.fixture(scope="session")
def rel_db_url() -> Iterator[str]:
    with support.catalog_database("minerva_reliability") as url:
        yield url


@pytest.fixture(scope="session")
def rel_engine(rel_db_url: str) -> Iterator[Engine]:
    engine = create_engine(rel_db_url, pool_size=4, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def plain_upstream() -> Iterator[str]:
    """An emulator without faults or added latency, for the load tests."""
    with running_emulator(seed=11) as base_url:
        yield base_url
