"""What every command shares: the console, settings loading, error reporting."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

import typer
from rich.console import Console

from minerva_core.errors import MinervaError
from minerva_core.settings import Settings, load_settings

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except MinervaError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from None


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn Minerva's own errors into one red line and exit code 1, no traceback."""
    try:
        yield
    except MinervaError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
