"""`minerva migration features | rollout | rollback | evaluate | legacy`: the OpenRouter
migration from a shell (the same core functions as the admin API; audited with --actor)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from minerva_core.cli._common import console, reported_errors, settings_or_exit
from minerva_core.db.engine import get_engine
from minerva_core.migration import registry
from minerva_core.migration.evaluation import evaluate_guardrails
from minerva_core.migration.legacy import migrate_legacy

migration_app = typer.Typer(help="Move platform features to OpenRouter: rollout, rollback, guardrails, legacy data.")
ACTOR = typer.Option("cli", "--actor", help="who acts, for the audit trail")


def _engine():
    return get_engine(settings_or_exit(), pool_size=1)


@migration_app.command("features")
def features() -> None:
    """List the migrating features and their rollout."""
    with reported_errors():
        engine = _engine()
        try:
            with engine.connect() as conn:
                rows = registry.list_features(conn)
        finally:
            engine.dispose()
    table = Table("feature", "status", "rollout %", "control", "treatment", "reason")
    for f in rows:
        table.add_row(f.name, f.status, format(f.rollout_percent, "f"), f"{f.control_provider}/{f.control_model}",
                      f"{f.treatment_provider}/{f.treatment_model}", f.status_reason or "")
    console.print(table)


@migration_app.command("rollout")
def rollout(name: str, percent: str, reason: str = typer.Option(None, "--reason"), actor: str = ACTOR) -> None:
    """Set a feature's treatment share (0-100, two decimals at most)."""
    with reported_errors():
        engine = _engine()
        try:
            with engine.begin() as conn:
                f = registry.set_rollout(conn, name, percent, actor=actor, reason=reason)
        finally:
            engine.dispose()
    console.print(f"{f.name}: {f.status} at {f.rollout_percent} %")


@migration_app.command("rollback")
def rollback(name: str, reason: str = typer.Option(..., "--reason"), actor: str = ACTOR) -> None:
    """Send all of a feature's traffic back to its direct provider."""
    with reported_errors():
        engine = _engine()
        try:
            with engine.begin() as conn:
                f = registry.rollback(conn, name, reason=reason, actor=actor)
        finally:
            engine.dispose()
    console.print(f"{f.name}: {f.status} ({f.status_reason})")


@migration_app.command("evaluate")
def evaluate() -> None:
    """Evaluate every feature's guardrails now; breaches roll back."""
    with reported_errors():
        engine = _engine()
        try:
            with engine.begin() as conn:
                outcomes = evaluate_guardrails(conn, datetime.now(UTC))
        finally:
            engine.dispose()
    for o in outcomes:
        verdict = "ROLLED BACK: " + "; ".join(o.breaches) if o.rolled_back else (
            "error: " + o.error if o.error else ("within limits" if o.evaluated else "; ".join(o.notes)))
        console.print(f"{o.feature}: {verdict}")


@migration_app.command("legacy")
def legacy(export: Path = typer.Option(None, "--export", exists=True, dir_okay=False,
                                       help="a legacy export (JSON) to stage first"),
           actor: str = ACTOR) -> None:
    """Migrate the legacy provider configs and usage; print counts and checksums (JSON)."""
    settings = settings_or_exit()
    with reported_errors():
        from minerva_core.credentials import load_keyring

        engine = get_engine(settings, pool_size=1)
        try:
            with engine.begin() as conn:
                report = migrate_legacy(conn, export or "tables", keyring=lambda: load_keyring(settings), actor=actor)
        finally:
            engine.dispose()
    print(json.dumps(report.as_dict(), indent=2))


def register(app: typer.Typer) -> None:
    app.add_typer(migration_app, name="migration")
