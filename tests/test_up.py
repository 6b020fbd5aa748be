"""The README's first command: `minerva up` on the embedded database and the built-in
emulator brings the whole platform up, runs the first discovery, and stops everything."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from minerva_core.db import embedded

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_up_serves_the_platform_and_stops_it_on_sigterm(tmp_path):
    home = tmp_path / "h"
    ports = {name: _free_port() for name in ("PROXY", "EMULATOR", "PREFECT")}
    env = {k: v for k, v in os.environ.items() if k not in ("MINERVA_DATABASE_URL", "OPENROUTER_API_KEY", "PREFECT_API_URL")}
    env.update({f"MINERVA_{k}_PORT": str(v) for k, v in ports.items()})
    env.update({"MINERVA_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    log = open(tmp_path / "up.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "minerva_core.cli", "up"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "up.log").read_text()
            output = (tmp_path / "up.log").read_text()
            if "first run succeeded" in output:
                break
            time.sleep(1)
        else:
            pytest.fail("discovery did not finish: " + (tmp_path / "up.log").read_text())
        assert "OPENROUTER_API_KEY is not set" in output
        key = (home / "dev-key").read_text().strip()
        assert key in output and oct((home / "dev-key").stat().st_mode)[-3:] == "600"

        proxy = f"http://127.0.0.1:{ports['PROXY']}"
        for _ in range(50):  # the proxy reloads the catalog on NOTIFY after discovery
            ready = httpx.get(f"{proxy}/readyz", timeout=5)
            if ready.status_code == 200:
                break
            time.sleep(0.2)
        assert ready.status_code == 200, ready.text
        answer = httpx.post(
            f"{proxy}/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "minerva/cheapest", "messages": [{"role": "user", "content": "Hello"}]},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"]
        deployments = httpx.post(f"http://127.0.0.1:{ports['PREFECT']}/api/deployments/filter", json={}, timeout=10).json()
        assert {d["name"] for d in deployments} >= {"discover", "pricing", "refresh", "reconcile", "alerts"}
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
    for port in ports.values():
        assert not _listening(port), f"port {port} still served after minerva up stopped"
    embedded.stop(home)
