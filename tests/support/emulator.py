"""Run the OpenRouter emulator as a real subprocess for a test.

    with running_emulator(seed=7, ttft_ms=50, faults=["openai/gpt-4o=429:2"]) as base_url:
        httpx.get(f"{base_url}/models")            # base_url = "http://127.0.0.1:PORT/api/v1"

The emulator binds a free loopback port itself (`--port 0`) and prints its URL once it accepts
requests, so there is no port race and no polling. Options are EmulatorConfig's fields:
snapshot, seed, ttft_ms, token_ms, require_key, generation_delay_ms, padding, keepalive_ms,
drip_ms, retry_after_s, total_credits, fill_required, prompt_cache, faults, log_level.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import httpx

from minerva_core.emulator.config import READY_PREFIX, FaultRule

_FLAGS = {
    "snapshot": "--snapshot",
    "seed": "--seed",
    "ttft_ms": "--ttft-ms",
    "token_ms": "--token-ms",
    "require_key": "--require-key",
    "generation_delay_ms": "--generation-delay-ms",
    "keepalive_ms": "--keepalive-ms",
    "drip_ms": "--drip-ms",
    "retry_after_s": "--retry-after-s",
    "total_credits": "--total-credits",
    "log_level": "--log-level",
}
_SWITCHES_OFF = {"padding": "--no-padding", "prompt_cache": "--no-prompt-cache"}
_SWITCHES_ON = {"fill_required": "--fill-required"}


class EmulatorStartError(RuntimeError):
    """The emulator subprocess exited or stayed silent instead of announcing its URL."""


def emulator_command(host: str = "127.0.0.1", **options: Any) -> list[str]:
    """The argv that starts the emulator with these options on a free port."""
    argv = [sys.executable, "-m", "minerva_core.emulator", "--host", host, "--port", "0"]
    for name, value in options.items():
        if value is None:
            continue
        if name in _FLAGS:
            argv += [_FLAGS[name], str(value)]
        elif name in _SWITCHES_OFF:
            argv += [] if value else [_SWITCHES_OFF[name]]
        elif name in _SWITCHES_ON:
            argv += [_SWITCHES_ON[name]] if value else []
        elif name == "faults":
            argv += [arg for fault in _fault_texts(value) for arg in ("--fault", fault)]
        else:
            raise TypeError(f"running_emulator got an unknown option {name!r}")
    return argv


@contextmanager
def running_emulator(*, host: str = "127.0.0.1", start_timeout: float = 30.0, **options: Any) -> Iterator[str]:
    """Start the emulator, yield its base URL (".../api/v1"), then stop it."""
    argv = emulator_command(host, **options)
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        pump = _StdoutPump(process)
        try:
            yield _await_ready(process, pump, start_timeout, stderr)
        finally:
            _stop(process)
            pump.close()


def root_url(base_url: str) -> str:
    """The server root (for /__emulator/*) of a base URL ending in /api/v1."""
    return base_url.removesuffix("/").removesuffix("/api/v1")


def arm_fault(base_url: str, fault: str, *, model: str | None = None, path: str | None = None,
              count: int | None = 1) -> dict[str, Any]:
    """Make `model` (or the /api/v1 `path`) fail `count` times (None: until cleared)."""
    body = {"fault": fault, "count": count, **({"model": model} if model else {"path": path})}
    response = httpx.post(f"{root_url(base_url)}/__emulator/faults", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def clear_faults(base_url: str) -> None:
    httpx.delete(f"{root_url(base_url)}/__emulator/faults", timeout=5).raise_for_status()


def reset_emulator(base_url: str) -> None:
    """Forget generations, spend, cached prompts and armed faults."""
    httpx.post(f"{root_url(base_url)}/__emulator/reset", timeout=5).raise_for_status()


def _fault_texts(faults: Iterable[Any]) -> list[str]:
    texts = []
    for fault in faults:
        if isinstance(fault, FaultRule):
            count = "" if fault.count is None else f":{fault.count}"
            texts.append(f"{fault.target}={fault.kind}{count}")
        else:
            texts.append(str(fault))
    return texts


class _StdoutPump:
    """Reads the child's stdout for its whole life, so the pipe can never fill up."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._stdout = process.stdout
        self._thread = threading.Thread(target=self._run, name="emulator-stdout", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._stdout is not None
        for raw in self._stdout:
            self.lines.put(raw.decode("utf-8", "replace").strip())
        self.lines.put(None)

    def close(self) -> None:
        self._thread.join(timeout=5)
        if self._stdout is not None and not self._thread.is_alive():
            self._stdout.close()


def _await_ready(process: subprocess.Popen[bytes], pump: _StdoutPump, timeout: float, stderr: Any) -> str:
    try:
        while True:
            line = pump.lines.get(timeout=timeout)
            if line is None:
                break
            if line.startswith(READY_PREFIX):
                return line.split(maxsplit=1)[1]
    except queue.Empty:
        pass
    _stop(process)
    stderr.seek(0)
    detail = stderr.read().decode("utf-8", "replace").strip()[-4000:]
    raise EmulatorStartError(
        f"emulator did not start (exit code {process.returncode}); argv={process.args!r}\n{detail}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


__all__ = [
    "EmulatorStartError",
    "arm_fault",
    "clear_faults",
    "emulator_command",
    "reset_emulator",
    "root_url",
    "running_emulator",
]
