from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.migration.support import migrated_database


@pytest.fixture(scope="module")
def mig_db() -> Iterator[tuple[str, Engine]]:
    """A migrated database of this test module's own."""
    with migrated_database("minerva_flags") as db:
        yield db


@pytest.fixture(scope="module")
def engine(mig_db) -> Engine:
    return mig_db[1]
