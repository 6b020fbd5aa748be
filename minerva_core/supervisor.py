"""Start child processes, wait until they answer, stop them all together.

`minerva up` runs each part (emulator, Prefect server, flow runner, proxy) as its own
process so that each can be restarted, scaled or replaced on its own in production.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import httpx

log = logging.getLogger(__name__)


class ChildFailed(RuntimeError):
    pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Supervisor:
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        ready_url: str | None = None,
        ready_timeout: float = 60.0,
    ) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        handle = open(log_path, "ab")
        process = subprocess.Popen(
            list(argv),
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        handle.close()
        child = Child(name, process, log_path)
        self.children.append(child)
        if ready_url:
            wait_until_ready(child, ready_url, ready_timeout)
        return child

    def check(self) -> None:
        for child in self.children:
            if not child.alive():
                raise ChildFailed(
                    f"{child.name} exited with code {child.process.returncode}; see {child.log_path}"
                )

    def stop_all(self, timeout: float = 10.0) -> None:
        for child in reversed(self.children):
            if child.alive():
                _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait(5)
        self.children.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def wait_until_ready(child: Child, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: str = "no answer yet"
    while time.monotonic() < deadline:
        if not child.alive():
            raise ChildFailed(
                f"{child.name} exited with code {child.process.returncode} while starting; "
                f"see {child.log_path}"
            )
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code < 500:
                return
            last_error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last_error = exc.__class__.__name__
        time.sleep(0.2)
    raise ChildFailed(f"{child.name} did not answer {url} within {timeout:.0f} s ({last_error}); see {child.log_path}")


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
