"""deployments/prefect.yaml registers every flow of the plan with `prefect deploy --all`
against a real `prefect server start`, with its cron schedule and work pool."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from deployments.schedules import deployment_specs

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))

pytestmark = pytest.mark.slow

EXPECTED = {
    "discover": "0 * * * *",
    "pricing": "*/15 * * * *",
    "refresh": "*/5 * * * *",
    "reconcile": "30 2 * * *",
    "backfill": "*/5 * * * *",
    "alerts": "* * * * *",
    "guardrails": "* * * * *",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect_home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, (home / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("prefect server did not start")
        yield env, api
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
        log.close()


def test_schedules_in_yaml_are_the_plans():
    assert {s["name"]: s["cron"] for s in deployment_specs()} == EXPECTED


def test_every_flow_registers_with_prefect_deploy_all(prefect_server):
    env, api = prefect_server
    pool = subprocess.run(
        [PREFECT, "work-pool", "create", "minerva-process", "--type", "process"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = subprocess.run(
        [PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]

    found = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
    by_name = {d["name"]: d for d in found}
    assert set(by_name) == set(EXPECTED)
    for name, cron in EXPECTED.items():
        deployment = by_name[name]
        assert deployment["work_pool_name"] == "minerva-process"
        crons = [s["schedule"]["cron"] for s in deployment["schedules"]]
        assert crons == [cron], name
        assert all(s["active"] for s in deployment["schedules"])
        flow = httpx.get(f"{api}/flows/{deployment['flow_id']}", timeout=10).json()
        assert deployment["entrypoint"].endswith(f":{flow['name']}") or name == "reconcile"
