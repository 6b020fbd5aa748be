"""`minerva up`: the whole platform on one machine, stopped together with Ctrl-C."""

from __future__ import annotations

import time

import typer

from minerva_core.cli._common import console, err_console, reported_errors, settings_or_exit
from minerva_core.db import migrate
from minerva_core.db.engine import get_engine
from minerva_core.supervisor import ChildFailed, Supervisor, python_module


def up(
    emulator_port: int = typer.Option(None, help="port of the built-in emulator (default MINERVA_EMULATOR_PORT)"),
    once: bool = typer.Option(False, "--once", help="start, print, then stop (for scripts and tests)"),
) -> None:
    """Start the database, migrations and the upstream (the built-in emulator when no key is set)."""
    settings = settings_or_exit()
    supervisor = Supervisor(settings.home / "logs")
    try:
        with reported_errors():
            where = "embedded PostgreSQL" if settings.uses_embedded_database else "MINERVA_DATABASE_URL"
            console.print(f"[bold]database[/]: {where}")
            engine = get_engine(settings)
            try:
                applied = migrate.upgrade(engine)
            finally:
                engine.dispose()
            console.print(f"[bold]migrations[/]: {len(applied)} applied, schema up to date")

            upstream = settings.openrouter_base_url
            if settings.uses_emulator:
                port = emulator_port or settings.emulator_port
                console.print(
                    "[bold yellow]OPENROUTER_API_KEY is not set: serving the built-in OpenRouter "
                    "emulator (real catalog snapshot, synthetic answers, no real spend)[/]"
                )
                upstream = f"http://{settings.emulator_host}:{port}/api/v1"
                supervisor.start(
                    "emulator",
                    python_module(
                        "minerva_core.emulator", "--host", settings.emulator_host, "--port", str(port)
                    ),
                    ready_url=f"{upstream}/models?limit=1",
                )
            console.print(f"[bold]upstream[/]: {upstream}")
            console.print(f"[bold]logs[/]: {supervisor.log_dir}")
            console.print(
                f"try: curl -s {upstream}/models | head -c 300"
            )
            if once:
                return
            console.print("running; press Ctrl-C to stop everything")
            while True:
                supervisor.check()
                time.sleep(0.5)
    except ChildFailed as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        supervisor.stop_all()


def register(app: typer.Typer) -> None:
    app.command("up")(up)
