"""`minerva emulator`: serve the built-in OpenRouter emulator until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import typer

from minerva_core.cli._common import console, err_console, reported_errors, settings_or_exit
from minerva_core.emulator.config import EmulatorConfig, parse_fault_rule
from minerva_core.emulator.server import print_ready, serve
from minerva_core.errors import ConfigError


def emulator(
    host: str = typer.Option(None, help="interface to listen on (default MINERVA_EMULATOR_HOST, 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default MINERVA_EMULATOR_PORT, 4010; 0 picks a free one)"),
    snapshot: Path = typer.Option(
        None, "--snapshot", metavar="FILE",
        help="a /models snapshot (enveloped or bare array); default: the newest shipped one",
    ),
    seed: int = typer.Option(0, help="seed of the deterministic replies and endpoint figures"),
    ttft_ms: int = typer.Option(0, "--ttft-ms", metavar="MS", help="delay before the first token"),
    token_ms: int = typer.Option(0, "--token-ms", metavar="MS", help="delay between tokens"),
    require_key: str = typer.Option(
        None, "--require-key", metavar="KEY", help="accept only this bearer key (default: any key)"
    ),
    generation_delay_ms: int = typer.Option(
        500, "--generation-delay-ms", metavar="MS", help="GET /generation answers 404 this long after a request"
    ),
    fault: list[str] = typer.Option(
        [], "--fault", metavar="TARGET=KIND[:COUNT]",
        help="arm a fault at start, e.g. openai/gpt-4o=429:2 or /models=503 (repeatable)",
    ),
    padding: bool = typer.Option(True, "--padding/--no-padding", help="OpenRouter's keep-alive whitespace/comments"),
    fill_required: bool = typer.Option(
        False, "--fill-required", help="add model keys today's spec requires that old snapshots lack"
    ),
) -> None:
    """Serve an offline OpenRouter: real catalog snapshot, synthetic answers, exact costs."""
    settings = settings_or_exit()
    try:
        config = EmulatorConfig(
            host=host or settings.emulator_host,
            port=settings.emulator_port if port is None else port,
            snapshot=snapshot,
            seed=seed,
            ttft_ms=ttft_ms,
            token_ms=token_ms,
            require_key=require_key,
            generation_delay_ms=generation_delay_ms,
            padding=padding,
            fill_required=fill_required,
            faults=tuple(parse_fault_rule(text) for text in fault),
        )
    except ValueError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from None

    def announce(base_url: str) -> None:
        keys = "only the key given with --require-key" if require_key else "any bearer key"
        console.print(f"[bold]OpenRouter emulator[/] on {base_url} ({config.snapshot_path.name}; {keys})")
        console.print(f"try: curl -s {base_url}/models | head -c 300")
        print_ready(base_url)

    with reported_errors():
        try:
            serve(config, announce=announce)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    app.command("emulator")(emulator)
