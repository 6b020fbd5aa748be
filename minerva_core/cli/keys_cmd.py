"""`minerva keys create | list | revoke`: virtual API keys for apps."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import typer
from rich.table import Table
from sqlalchemy import text

from minerva_core.cli._common import console, err_console, reported_errors, settings_or_exit
from minerva_core.db.engine import get_engine
from minerva_core.virtual_keys import create_key, revoke_key

keys_app = typer.Typer(help="Virtual API keys (stored as hashes; the key is shown once).")


@keys_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="who or what the key is for"),
    rpm: int = typer.Option(None, "--rpm", min=1, help="requests per minute"),
    tpm: int = typer.Option(None, "--tpm", min=1, help="tokens per minute"),
    budget_usd: str = typer.Option(None, "--budget-usd", help="budget in USD per period"),
    period: str = typer.Option(None, "--period", help="day | month (default month with a budget)"),
    model: list[str] = typer.Option([], "--model", help="allowed model (repeatable; default any)"),
    strategy: str = typer.Option(None, "--strategy", help="default routing strategy name"),
    queue: bool = typer.Option(False, "--queue", help="wait in a bounded queue instead of 429 when over a rate limit"),
    app_name: str = typer.Option(None, "--app", help="the app this key belongs to"),
) -> None:
    """Create a key and print it once."""
    budget = None
    if budget_usd is not None:
        try:
            budget = Decimal(budget_usd)
        except InvalidOperation:
            err_console.print(f"[bold red]error:[/] --budget-usd must be a decimal amount, got {budget_usd!r}")
            raise typer.Exit(code=2) from None
        if budget < 0 or not budget.is_finite():
            err_console.print("[bold red]error:[/] --budget-usd must be a non-negative amount")
            raise typer.Exit(code=2)
    if period is not None and period not in ("day", "month"):
        err_console.print("[bold red]error:[/] --period must be day or month")
        raise typer.Exit(code=2)
    if period is not None and budget is None:
        err_console.print("[bold red]error:[/] --period needs --budget-usd")
        raise typer.Exit(code=2)
    settings = settings_or_exit()
    with reported_errors():
        engine = get_engine(settings)
        try:
            with engine.begin() as conn:
                created = create_key(
                    conn, name=name, rpm_limit=rpm, tpm_limit=tpm, budget_usd=budget,
                    budget_period=period or ("month" if budget is not None else None),
                    allowed_models=model or None, default_strategy=strategy,
                    queue_when_limited=queue, app=app_name, created_by="cli",
                )
        finally:
            engine.dispose()
    console.print(f"created key [bold]{created.name}[/] ({created.id})")
    console.print("the key (shown once; store it now):")
    print(created.key)


@keys_app.command("list")
def list_keys() -> None:
    """List keys: prefix, limits, budget; never the key."""
    settings = settings_or_exit()
    with reported_errors():
        engine = get_engine(settings)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT id, name, key_prefix, rpm_limit, tpm_limit, budget_usd, budget_period, "
                        "revoked_at FROM api_keys ORDER BY created_at"
                    )
                ).all()
        finally:
            engine.dispose()
    table = Table("id", "name", "prefix", "rpm", "tpm", "budget", "revoked")
    for r in rows:
        budget = f"{r.budget_usd} / {r.budget_period}" if r.budget_usd is not None else ""
        table.add_row(str(r.id), r.name, r.key_prefix + "…", str(r.rpm_limit or ""), str(r.tpm_limit or ""), budget, "yes" if r.revoked_at else "")
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="the key's id")) -> None:
    settings = settings_or_exit()
    with reported_errors():
        engine = get_engine(settings)
        try:
            with engine.begin() as conn:
                done = revoke_key(conn, key_id)
        finally:
            engine.dispose()
    console.print("revoked" if done else "no active key with that id")
    if not done:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
