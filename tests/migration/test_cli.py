"""`minerva migration ...` against a scratch database (mounted on a Typer app of its own)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from minerva_core.cli import migration_cmd
from minerva_core.migration import registry


def _app() -> typer.Typer:
    app = typer.Typer()
    migration_cmd.register(app)
    return app


def test_rollout_rollback_evaluate_and_legacy(mig_db, monkeypatch, tmp_path):
    url, engine = mig_db
    monkeypatch.setenv("MINERVA_DATABASE_URL", url)
    with engine.begin() as conn:
        registry.register_feature(conn, name="cli-feature", control_provider="openai", control_model="gpt-4o",
                                  treatment_model="openai/gpt-4o", actor="test")
    runner, app = CliRunner(), _app()

    out = runner.invoke(app, ["migration", "rollout", "cli-feature", "10", "--actor", "erin"])
    assert out.exit_code == 0 and "rolling_out at 10.00 %" in out.output
    listed = runner.invoke(app, ["migration", "features"])
    assert listed.exit_code == 0 and "cli-feature" in listed.output
    assert runner.invoke(app, ["migration", "evaluate"]).exit_code == 0
    back = runner.invoke(app, ["migration", "rollback", "cli-feature", "--reason", "drill"])
    assert back.exit_code == 0 and "rolled_back (drill)" in back.output
    again = runner.invoke(app, ["migration", "rollback", "cli-feature", "--reason", "drill"])
    assert again.exit_code == 1 and "rolled_back" in again.output

    export = tmp_path / "export.json"
    export.write_text(json.dumps({"usage": [{"id": "cli-1", "occurred_at": "2026-10-06T00:00:00Z",
                                             "provider_name": "openai", "model": "gpt-4o", "cost_usd": "0.5"}]}))
    result = runner.invoke(app, ["migration", "legacy", "--export", str(export)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["equal"] is True


def test_migration_is_a_command_of_the_real_entry_point():
    """The installed `minerva` script (pyproject's [project.scripts]) lists and runs it."""
    minerva = str(Path(sys.executable).with_name("minerva"))
    top = subprocess.run([minerva, "--help"], capture_output=True, text=True, timeout=120)
    assert top.returncode == 0, top.stderr
    assert "migration" in top.stdout
    sub = subprocess.run([minerva, "migration", "--help"], capture_output=True, text=True, timeout=120)
    assert sub.returncode == 0, sub.stderr
    for command in ("features", "rollout", "rollback", "evaluate", "legacy"):
        assert command in sub.stdout, command
