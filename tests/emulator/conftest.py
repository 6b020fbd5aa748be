"""One emulator subprocess per test module; a module sets EMULATOR_OPTIONS to configure it."""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from tests.support.emulator import reset_emulator, running_emulator

API_KEY = "sk-or-v1-emulator-test-key-0001"


@pytest.fixture(scope="module")
def emulator_url(request: pytest.FixtureRequest) -> Iterator[str]:
    options: dict[str, Any] = getattr(request.module, "EMULATOR_OPTIONS", {})
    with running_emulator(**options) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def client(emulator_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emulator_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    ) as http:
        yield http


@pytest.fixture()
def fresh(emulator_url: str) -> str:
    """The module's emulator with its generations, spend, cache and faults forgotten."""
    reset_emulator(emulator_url)
    return emulator_url
