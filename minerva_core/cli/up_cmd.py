"""`minerva up`: the whole platform on one machine, stopped together with Ctrl-C.

Database (embedded unless MINERVA_DATABASE_URL) and migrations; the built-in OpenRouter
emulator when OPENROUTER_API_KEY is unset; a local Prefect server with every flow served on
its schedule; a first discovery run; then it watches its children until Ctrl-C.
"""

from __future__ import annotations

import signal
import time

import typer

from minerva_core.cli._common import console, err_console, reported_errors, settings_or_exit
from minerva_core.db import migrate
from minerva_core.db.engine import database_url, get_engine
from minerva_core.dev_secrets import admin_token, development_key
from minerva_core.settings import Settings
from minerva_core.supervisor import Child, ChildFailed, Supervisor, python_module


def _start_emulator(supervisor: Supervisor, settings: Settings, port: int) -> str:
    console.print(
        "[bold yellow]OPENROUTER_API_KEY is not set: serving the built-in OpenRouter emulator "
        "(a real catalog snapshot, synthetic answers, exact costs, no real spend)[/]"
    )
    upstream = f"http://{settings.emulator_host}:{port}/api/v1"
    supervisor.start(
        "emulator",
        python_module("minerva_core.emulator", "--host", settings.emulator_host, "--port", str(port)),
        ready_url=f"{upstream}/models?limit=1",
    )
    return upstream


def _prefect_env(settings: Settings) -> dict[str, str]:
    api = f"http://127.0.0.1:{settings.prefect_port}/api"
    return {
        "PREFECT_HOME": str(settings.home / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_API_URL": api,
    }


def _start_prefect(supervisor: Supervisor, settings: Settings, env: dict[str, str]) -> str:
    supervisor.start(
        "prefect-server",
        ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(settings.prefect_port)],
        env=env,
        ready_url=f"{env['PREFECT_API_URL']}/health",
        ready_timeout=180,
    )
    return f"http://127.0.0.1:{settings.prefect_port}"


def _start_proxy(supervisor: Supervisor, settings: Settings, env: dict[str, str]) -> str:
    token = (
        settings.admin_token.get_secret_value() if settings.admin_token is not None else admin_token(settings.home)
    )
    env["MINERVA_ADMIN_TOKEN"] = token
    url = f"http://{settings.proxy_host}:{settings.proxy_port}"
    supervisor.start(
        "proxy",
        python_module("minerva_core.cli", "proxy", "--host", settings.proxy_host, "--port", str(settings.proxy_port)),
        env=env,
        ready_url=f"{url}/healthz",
        ready_timeout=120,
    )
    console.print(f"[bold]proxy[/]: {url}/v1  (OpenAI-compatible)   [bold]admin[/]: {url}/admin")
    return url


def _print_try(settings: Settings, proxy_url: str) -> None:
    engine = get_engine(settings)
    try:
        with engine.begin() as conn:
            key, created = development_key(conn, settings.home)
    finally:
        engine.dispose()
    note = "created" if created else "kept"
    console.print(f"[bold]development key[/] ({note}, stored in {settings.home / 'dev-key'}): {key}")
    console.print(f"[bold]admin token[/]: in {settings.home / 'admin-token'} (or MINERVA_ADMIN_TOKEN)")
    console.print("try:")
    print(
        f"  curl -s {proxy_url}/v1/chat/completions -H 'Authorization: Bearer {key}' "
        "-H 'Content-Type: application/json' "
        """-d '{"model": "minerva/cheapest", "messages": [{"role": "user", "content": "Hello"}]}'"""
    )


def up(
    emulator_port: int = typer.Option(None, help="port of the built-in emulator (default MINERVA_EMULATOR_PORT)"),
    once: bool = typer.Option(False, "--once", help="start everything, run the first discovery, print, then stop"),
    no_flows: bool = typer.Option(False, "--no-flows", help="skip the Prefect server and the flows"),
) -> None:
    """Start the platform: database, migrations, upstream, Prefect with the flows, first discovery."""
    settings = settings_or_exit()
    supervisor = Supervisor(settings.home / "logs")
    # SIGTERM (a service manager, `timeout`, `kill`) stops everything like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with reported_errors():
            where = "embedded PostgreSQL 16" if settings.uses_embedded_database else "MINERVA_DATABASE_URL"
            db_url = database_url(settings)
            console.print(f"[bold]database[/]: {where}")
            engine = get_engine(settings)
            try:
                applied = migrate.upgrade(engine)
            finally:
                engine.dispose()
            console.print(f"[bold]migrations[/]: {len(applied)} applied, schema up to date")

            upstream = settings.openrouter_base_url
            if settings.uses_emulator:
                upstream = _start_emulator(supervisor, settings, emulator_port or settings.emulator_port)
            console.print(f"[bold]upstream[/]: {upstream}")
            child_env = {
                "MINERVA_DATABASE_URL": db_url,
                "OPENROUTER_BASE_URL": upstream,
                "MINERVA_HOME": str(settings.home),
            }

            proxy_url = _start_proxy(supervisor, settings, child_env)
            first_run: Child | None = None
            if not no_flows:
                prefect_env = {**child_env, **_prefect_env(settings)}
                ui = _start_prefect(supervisor, settings, prefect_env)
                supervisor.start("flows", python_module("flows.serve"), env=prefect_env)
                console.print(f"[bold]Prefect UI[/]: {ui}  (flows served on their schedules)")
                first_run = supervisor.start(
                    "first-discovery", python_module("minerva_core.cli", "flow", "run", "discover"), env=prefect_env
                )
                console.print("[bold]discovery[/]: first run started (log: "
                              f"{first_run.log_path})")
            console.print(f"[bold]logs[/]: {supervisor.log_dir}")
            _print_try(settings, proxy_url)
            _watch(supervisor, first_run, once)
    except ChildFailed as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        supervisor.stop_all()


def _watch(supervisor: Supervisor, first_run: Child | None, once: bool) -> None:
    if not once:
        console.print("running; press Ctrl-C to stop everything")
    reported = first_run is None
    while True:
        if not reported and not first_run.alive():
            code = first_run.process.returncode
            supervisor.children.remove(first_run)
            reported = True
            if code == 0:
                console.print("[bold green]discovery[/]: first run succeeded; the catalog is live")
            else:
                err_console.print(f"[bold red]discovery[/]: first run failed (exit {code}); see {first_run.log_path}")
                if once:
                    raise ChildFailed("the first discovery run failed")
        if once and reported:
            return
        supervisor.check()
        time.sleep(0.5)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    app.command("up")(up)
