"""What every flow needs at run time: settings, one engine per database URL, the upstream."""

from __future__ import annotations

import functools
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import Engine, create_engine

from minerva_core.credentials import get_credential
from minerva_core.db.engine import database_url
from minerva_core.errors import CredentialError
from minerva_core.providers import OpenRouterProvider, new_client
from minerva_core.settings import Settings, load_settings


def settings() -> Settings:
    return load_settings()


@functools.lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """One pooled engine per URL per worker process (flows run many tasks)."""
    return create_engine(url, pool_size=5, pool_pre_ping=True)


def engine(cfg: Settings | None = None) -> Engine:
    return engine_for(database_url(cfg or settings()))


def openrouter_key(cfg: Settings) -> str | None:
    """OPENROUTER_API_KEY, else the stored (encrypted) openrouter credential, else none."""
    if cfg.openrouter_api_key is not None:
        return cfg.openrouter_api_key.get_secret_value()
    try:
        with engine(cfg).connect() as conn:
            return get_credential(conn, "openrouter").reveal()
    except CredentialError:
        return None


@asynccontextmanager
async def openrouter(cfg: Settings, base_url: str | None = None) -> AsyncIterator[OpenRouterProvider]:
    async with new_client() as client:
        yield OpenRouterProvider(
            base_url=base_url or cfg.openrouter_base_url, api_key=openrouter_key(cfg), client=client
        )
