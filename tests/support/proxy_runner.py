"""Run `minerva proxy` as a real process (its own process group) that a test may kill.

    with running_proxy(db_url, upstream, home, first_byte_timeout_s=0.5) as proxy:
        httpx.post(f"{proxy.url}/v1/chat/completions", ...)
        proxy.kill()                         # SIGKILL to the whole group (the flusher child too)
        proxy.start()                        # same port, same spool directory

The proxy is started the way an operator starts it (`python -m minerva_core.cli proxy`),
configured only through the environment; MINERVA_GATEWAY_* knobs are given as keyword
arguments (``first_byte_timeout_s=0.5`` sets MINERVA_GATEWAY_FIRST_BYTE_TIMEOUT_S). It is
ready when /readyz answers 200 (catalog loaded, database reachable).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx

ADMIN_TOKEN = "reliability-admin-token-0123456789"
FORWARD_HEADERS = "http-referer,x-title,x-emulator-ttft-ms,x-emulator-token-ms,x-emulator-fault"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KillableProxy:
    def __init__(self, db_url: str, upstream: str, home: Path, **gateway: Any) -> None:
        self.home = Path(home)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.spool_dir = self.home / "spool"
        knobs = {"spool_dir": self.spool_dir, "forward_headers": FORWARD_HEADERS,
                 "ledger_flush_interval_s": 0.05, "reload_poll_s": 1.0, "cooldown_threshold": 1000}
        knobs.update(gateway)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("MINERVA_") and k not in ("OPENROUTER_API_KEY", "PREFECT_API_URL")}
        self.env.update({
            "MINERVA_DATABASE_URL": db_url, "OPENROUTER_BASE_URL": upstream, "MINERVA_HOME": str(self.home),
            "MINERVA_ENV": "test", "MINERVA_ADMIN_TOKEN": ADMIN_TOKEN, "PYTHONUNBUFFERED": "1",
        })
        self.env.update({f"MINERVA_GATEWAY_{k.upper()}": str(v) for k, v in knobs.items()})
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.home / "proxy.log"

    def start(self, timeout: float = 90.0) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "minerva_core.cli", "proxy", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: kill() reaches the flusher child too
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the proxy exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the proxy was not ready within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def group_pids(self) -> list[int]:
        """Live members of the proxy's process group (the server and its flusher child)."""
        if self.process is None:
            return []
        out = subprocess.run(["ps", "-o", "pid=,stat=", "-g", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid, state in (line.split() for line in out.stdout.splitlines()) if not state.startswith("Z")]

    def kill(self) -> None:
        """SIGKILL the whole process group at once: no shutdown code runs anywhere."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.group_pids() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (graceful: the last rows are flushed), SIGKILL if that takes too long."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        if self.group_pids():
            self.kill()


@contextmanager
def running_proxy(db_url: str, upstream: str, home: Path, **gateway: Any) -> Iterator[KillableProxy]:
    proxy = KillableProxy(db_url, upstream, home, **gateway)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


__all__ = ["ADMIN_TOKEN", "KillableProxy", "free_port", "running_proxy"]
