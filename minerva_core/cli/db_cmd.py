"""`minerva db upgrade | url | start | stop | status | thaw-rollups`."""

from __future__ import annotations

from datetime import date

import typer

from minerva_core.cli._common import console, reported_errors, settings_or_exit
from minerva_core.db import embedded, migrate
from minerva_core.db.engine import database_url, get_engine, libpq_url

db_app = typer.Typer(help="The database: embedded PostgreSQL or MINERVA_DATABASE_URL, and its migrations.")


@db_app.command()
def upgrade() -> None:
    """Apply pending migrations from sql/ (each in a transaction; safe to run twice)."""
    settings = settings_or_exit()
    with reported_errors():
        engine = get_engine(settings)
        try:
            done = migrate.upgrade(engine)
        finally:
            engine.dispose()
    if not done:
        console.print("database is up to date")
    for migration in done:
        console.print(f"applied [bold]{migration.path.name}[/]")


@db_app.command()
def url(libpq: bool = typer.Option(False, "--libpq", help="print the libpq form (for psql)")) -> None:
    """Print the database URL (starting the embedded server if needed)."""
    settings = settings_or_exit()
    with reported_errors():
        value = database_url(settings)
    print(libpq_url(value) if libpq else value)


@db_app.command()
def start() -> None:
    """Start the embedded PostgreSQL under MINERVA_HOME (no-op for an external database)."""
    settings = settings_or_exit()
    if not settings.uses_embedded_database:
        console.print("MINERVA_DATABASE_URL is set: nothing to start")
        return
    with reported_errors():
        embedded.start(settings.home)
    console.print(f"embedded PostgreSQL running in {embedded.pgdata_dir(settings.home)}")


@db_app.command()
def stop() -> None:
    """Stop the embedded PostgreSQL."""
    settings = settings_or_exit()
    if not settings.uses_embedded_database:
        console.print("MINERVA_DATABASE_URL is set: Minerva does not manage that server")
        return
    with reported_errors():
        was_running = embedded.stop(settings.home)
    console.print("embedded PostgreSQL stopped" if was_running else "embedded PostgreSQL was not running")


@db_app.command()
def status() -> None:
    """Show which database is used and which migrations are pending."""
    settings = settings_or_exit()
    with reported_errors():
        engine = get_engine(settings)
        try:
            todo = migrate.pending(engine)
        finally:
            engine.dispose()
    where = "embedded" if settings.uses_embedded_database else "MINERVA_DATABASE_URL"
    console.print(f"database: {where}; pending migrations: {len(todo)}")
    for migration in todo:
        console.print(f"  {migration.path.name}")


@db_app.command("thaw-rollups")
def thaw_rollups(
    since: str = typer.Option(..., "--since", help="first UTC day (YYYY-MM-DD) whose ledger rows changed"),
) -> None:
    """Let the daily views read the ledger again from a day already frozen into the rollups
    (after writing old rows); the next refresh freezes those days anew."""
    from minerva_core.views import thaw_daily_rollups

    try:
        day = date.fromisoformat(since)
    except ValueError:
        console.print(f"[red]--since must be a date (YYYY-MM-DD), not {since!r}[/]")
        raise typer.Exit(2) from None
    settings = settings_or_exit()
    with reported_errors():
        engine = get_engine(settings)
        try:
            with engine.begin() as conn:
                thawed = thaw_daily_rollups(conn, day)
        finally:
            engine.dispose()
    console.print(f"daily rollups thawed from {day}; the next refresh freezes them again" if thawed
                  else f"nothing frozen from {day} on; nothing to do")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
