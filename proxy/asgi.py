"""The ASGI entry for servers: `uvicorn --factory proxy.asgi:app_factory` (settings from the
environment). Kept apart from create_app so tests and embedders build their own app."""

from __future__ import annotations

from fastapi import FastAPI

from minerva_core.logging_setup import configure_logging
from minerva_core.settings import load_settings
from proxy.app import create_app


def app_factory() -> FastAPI:
    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)
