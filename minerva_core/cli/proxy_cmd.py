"""`minerva proxy [--host --port --workers N]`: the OpenAI-compatible proxy and admin API."""

from __future__ import annotations

import typer

from minerva_core.cli._common import console, reported_errors, settings_or_exit
from minerva_core.db.engine import database_url


def proxy(
    host: str = typer.Option(None, help="bind address (default MINERVA_PROXY_HOST)"),
    port: int = typer.Option(None, help="port (default MINERVA_PROXY_PORT)"),
    workers: int = typer.Option(1, min=1, help="worker processes (each holds the catalog in memory)"),
    log_level: str = typer.Option("warning", help="uvicorn log level"),
) -> None:
    """Serve the proxy with uvicorn (uvloop + httptools)."""
    import os

    import uvicorn

    settings = settings_or_exit()
    with reported_errors():
        # Resolve (and start, if embedded) the database once, so every worker gets the same URL.
        os.environ["MINERVA_DATABASE_URL"] = database_url(settings)
    host = host or settings.proxy_host
    port = port or settings.proxy_port
    console.print(f"proxy on http://{host}:{port} with {workers} worker(s)")
    uvicorn.run(
        "proxy.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=15,
    )


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)
