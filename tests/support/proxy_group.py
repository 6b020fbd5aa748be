"""Real proxy processes for a test: ``uvicorn --factory proxy.asgi:app_factory`` (the app
``minerva proxy`` serves), configured only through its environment.

    with proxy_group([env_a, env_b]) as procs:     # procs[i].url = "http://127.0.0.1:PORT"
        ...

One process per environment, each with its own MINERVA_HOME (and so its own ledger spool);
they start in parallel and count as up once /readyz says the database and the catalog are
ready.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


class ProxyProcess:
    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "proxy.log"
        self._log = open(self.log_path, "wb")
        argv = [sys.executable, "-m", "uvicorn", "proxy.asgi:app_factory", "--factory", "--host", "127.0.0.1",
                "--port", str(self.port), "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
                "--no-access-log"]
        self.process = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
            env={**os.environ, **env, "MINERVA_HOME": str(home), "PYTHONUNBUFFERED": "1"},
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the proxy on port {self.port} exited:\n{self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the proxy on port {self.port} was not ready in time:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        self.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


@contextmanager
def proxy_group(envs: list[dict[str, str]], start_timeout: float = 120.0) -> Iterator[list[ProxyProcess]]:
    """One proxy process per environment, started together; all stopped (together) after."""
    with tempfile.TemporaryDirectory(prefix="minerva-proxies-") as tmp, ExitStack() as stack:
        procs: list[ProxyProcess] = []
        stack.callback(lambda: [p.stop() for p in procs])
        stack.callback(lambda: [p.terminate() for p in procs])  # runs first: all shut down at once
        for i, env in enumerate(envs):
            home = Path(tmp) / f"proxy-{i}"
            home.mkdir()
            procs.append(ProxyProcess(env, home))
        deadline = time.monotonic() + start_timeout
        for proc in procs:
            proc.wait_ready(deadline)
        yield procs
