"""`minerva emulator` and `python -m minerva_core.emulator`: options reach the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from minerva_core.cli.emulator_cmd import register
from minerva_core.emulator.config import READY_PREFIX, FaultRule, parse_fault_rule
from tests.support.emulator import EmulatorStartError, emulator_command, running_emulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openrouter"
_CLI = (
    "import typer\n"
    "from minerva_core.cli.emulator_cmd import register\n"
    "app = typer.Typer()\n"
    "app.callback()(lambda: None)\n"
    "register(app)\n"
    "app()\n"
)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_help_lists_the_contract_options() -> None:
    result = CliRunner().invoke(_app(), ["emulator", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--host", "--port", "--snapshot", "--seed", "--ttft-ms", "--token-ms", "--require-key",
                   "--generation-delay-ms"):
        assert option in result.output


def test_minerva_cli_assembles_the_emulator_command() -> None:
    from minerva_core.cli import app

    assert "emulator" in [command.name for command in app.registered_commands]


def test_the_command_serves_with_its_options(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", _CLI, "emulator", "--port", "0", "--seed", "3", "--require-key", "sk-right",
            "--snapshot", str(FIXTURES / "models-2026-02-27.json"), "--generation-delay-ms", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"PATH": "/usr/bin:/bin", "MINERVA_HOME": str(tmp_path), "COLUMNS": "200"})
    try:
        base_url = None
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(READY_PREFIX):
                base_url = line.split()[1]
                break
        assert base_url, process.stderr.read() if process.stderr else ""
        with httpx.Client(base_url=base_url, timeout=10) as http:
            assert http.get("/models/count").json() == {"data": {"count": 344}}
            body = {"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
            wrong = http.post("/chat/completions", json=body, headers={"Authorization": "Bearer sk-no"})
            right = http.post("/chat/completions", json=body, headers={"Authorization": "Bearer sk-right"})
        assert (wrong.status_code, right.status_code) == (401, 200)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_missing_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", _CLI, "emulator", "--port", "0", "--snapshot", str(tmp_path / "none.json")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                            env={"PATH": "/usr/bin:/bin", "MINERVA_HOME": str(tmp_path), "COLUMNS": "200"})
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_running_emulator_reports_a_failed_start(tmp_path: Path) -> None:
    with pytest.raises(EmulatorStartError, match="does not exist"):
        with running_emulator(snapshot=tmp_path / "none.json"):
            pass


def test_emulator_command_maps_options() -> None:
    argv = emulator_command(seed=4, padding=False, fill_required=True,
                            faults=["m=429:2", FaultRule("/models", "503", None)])
    assert argv[1:3] == ["-m", "minerva_core.emulator"]
    assert ["--seed", "4"] == argv[argv.index("--seed"):argv.index("--seed") + 2]
    assert "--no-padding" in argv and "--fill-required" in argv
    assert argv.count("--fault") == 2 and "/models=503" in argv
    with pytest.raises(TypeError):
        emulator_command(colour="red")


def test_fault_rules_parse() -> None:
    assert parse_fault_rule("openai/gpt-4o=429:2") == FaultRule("openai/gpt-4o", "429", 2)
    assert parse_fault_rule("/models=hang") == FaultRule("/models", "hang", None)
    with pytest.raises(ValueError):
        parse_fault_rule("openai/gpt-4o=explode")
    with pytest.raises(ValueError):
        parse_fault_rule("no-equals-sign")
