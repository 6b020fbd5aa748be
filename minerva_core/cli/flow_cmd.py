"""`minerva flow run NAME [--param key=value ...]`: run one flow now, in this process.

Uses the Prefect API in PREFECT_API_URL when set (the run shows in that UI), else a
temporary local one. The flows live in flows/ (they import minerva_core, never the reverse),
so they are loaded by entrypoint from deployments/prefect.yaml.
"""

from __future__ import annotations

import json
import os

import typer

from minerva_core.cli._common import console, err_console, reported_errors

flow_app = typer.Typer(help="Prefect flows: discover, pricing, refresh, reconcile, alerts, backfill, guardrails.")


def _parse_params(params: list[str]) -> dict:
    parsed = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--param expects key=value, got {item!r}")
        try:
            parsed[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.replace("-", "_")] = value
    return parsed


@flow_app.command("run")
def run(
    name: str = typer.Argument(..., help="discover | pricing | refresh | reconcile | alerts | backfill | guardrails"),
    param: list[str] = typer.Option([], "--param", "-p", help="flow parameter key=value (JSON values allowed)"),
) -> None:
    """Run a flow now and print its result."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from deployments.schedules import deployment_specs
    from flows.serve import load_flow

    specs = {spec["name"]: spec for spec in deployment_specs()}
    if name not in specs:
        err_console.print(f"[bold red]error:[/] unknown flow {name!r}; choose one of {', '.join(specs)}")
        raise typer.Exit(code=2)
    params = _parse_params(param)
    entry = specs[name]["entrypoint"]
    if name == "reconcile" and params:
        entry = entry.replace("reconcile_yesterday", "reconcile")
    with reported_errors():
        flow = load_flow(entry)
        result = flow(**params)
    console.print_json(json.dumps(result, default=str))
    if isinstance(result, dict) and result.get("status") in ("quarantined", "failed"):
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(flow_app, name="flow")
