"""The `minerva` command: one entry point, one sub-module per area.

Each sub-module exposes `register(app)`; this module only assembles them.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="minerva",
    help="Minerva: the control plane and routing proxy around OpenRouter.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_COMMAND_MODULES = (
    "minerva_core.cli.db_cmd",
    "minerva_core.cli.emulator_cmd",
    "minerva_core.cli.credentials_cmd",
    "minerva_core.cli.flow_cmd",
    "minerva_core.cli.keys_cmd",
    "minerva_core.cli.migration_cmd",
    "minerva_core.cli.proxy_cmd",
    "minerva_core.cli.reconcile_cmd",
    "minerva_core.cli.up_cmd",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()
