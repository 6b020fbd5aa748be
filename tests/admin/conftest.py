"""Fixtures of the admin pages' tests: for the package, one scratch migrated database
holding a slice of a real catalog, one emulator as the upstream (OPENROUTER_BASE_URL), the
app (create_app + the analytics router + install_admin) on a real uvicorn server, and one
headless Chromium (Debian's, driven by the playwright package); per test a fresh browser
context at 1366x768, so cookies never leak from one test to the next."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine

from minerva_core.db import migrate
from minerva_core.settings import load_settings
from tests.admin import support
from tests.support.database import scratch_database
from tests.support.emulator import running_emulator


@dataclass
class AdminEnv:
    base_url: str
    db_url: str
    engine: Engine
    upstream: str
    app: FastAPI
    models: int


@pytest.fixture(scope="package")
def admin_env(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminEnv]:
    import prefect.settings

    tmp = tmp_path_factory.mktemp("admin_ui")
    snapshot = support.catalog_slice(tmp)
    with pytest.MonkeyPatch.context() as mp, scratch_database("minerva_admin_ui") as url, \
            running_emulator(snapshot=str(snapshot)) as upstream:
        # "Sync now" starts the discover flow in a child process: give it the harness's API.
        mp.setenv("PREFECT_API_URL", prefect.settings.PREFECT_API_URL.value())
        engine = create_engine(url, pool_size=8, pool_pre_ping=True)
        try:
            migrate.upgrade(engine)
            count = support.load_catalog(engine, snapshot)
            settings = load_settings({
                "MINERVA_DATABASE_URL": url, "OPENROUTER_BASE_URL": upstream,
                "MINERVA_ADMIN_TOKEN": support.ADMIN_TOKEN, "MINERVA_SECRET_KEYS": Fernet.generate_key().decode(),
                "MINERVA_HOME": str(tmp / "home"), "MINERVA_ENV": "test",
            })
            app = support.build_app(settings, engine=engine)
            with support.serve(app) as base_url:
                yield AdminEnv(base_url, url, engine, upstream, app, count)
        finally:
            engine.dispose()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = support.launch_browser(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="package")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("admin_screenshots")


@pytest.fixture()
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport=support.VIEWPORT, accept_downloads=True)
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture()
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture()
def signed_in(page: Any, admin_env: AdminEnv) -> Any:
    """A page whose context holds a fresh admin session."""
    support.login(page, admin_env.base_url)
    return page
