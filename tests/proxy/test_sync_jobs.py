"""models/sync: queue, 409 while open, status reads, launch failures, and one real end-to-end
run (SubprocessLauncher -> python -m flows.run -> emulator -> PostgreSQL)."""

from __future__ import annotations

import json
import sys
import time
import uuid

import pytest
from sqlalchemy import text

from minerva_core.errors import FlowLaunchError
from proxy.jobs import SubprocessLauncher
from tests.proxy.conftest import (
    ADMIN,
    API,
    SNAPSHOT,
    RecordingLauncher,
    migrated_database,
)
from tests.support.emulator import running_emulator

SYNC = f"{API}/models/sync"
SLICE = 40


@pytest.fixture()
def db(module_db):
    """The module's database with no queued or running job left by an earlier test."""
    url, engine = module_db
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE model_sync_jobs SET status = 'failed', error = 'test cleanup', "
            "started_at = coalesce(started_at, now()), finished_at = now() "
            "WHERE status IN ('queued', 'running')"))
    return url, engine


def _job(client, job_id) -> dict:
    response = client.get(f"{SYNC}/{job_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def test_sync_queues_a_job_starts_its_flow_and_refuses_a_second_one(make_client, db):
    launcher = RecordingLauncher()
    with make_client(*db, launcher=launcher) as client:
        response = client.post(SYNC, headers=ADMIN, json={"kind": "discover"})
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["status"] == "queued" and accepted["kind"] == "discover"
        assert accepted["status_url"].endswith(f"/models/sync/{accepted['job_id']}")
        assert [(r.kind, str(r.job_id)) for r in launcher.requests] == [("discover", accepted["job_id"])]

        job = _job(client, accepted["job_id"])
        assert job["status"] == "queued" and job["requested_by"] == "api"
        assert job["progress"] == {"done": 0, "total": None, "percent": None}
        assert job["started_at"] is None and job["duration_ms"] is None

        conflict = client.post(SYNC, headers=ADMIN, json={"kind": "discover"})
        assert conflict.status_code == 409, conflict.text
        error = conflict.json()["error"]
        assert error["type"] == "conflict_error" and error["code"] == "sync_in_progress"
        assert error["details"]["job_id"] == accepted["job_id"]

        other_kind = client.post(SYNC, headers=ADMIN, json={"kind": "pricing"})
        assert other_kind.status_code == 202 and len(launcher.requests) == 2

        launcher.on_failure[0]("the flow process exited with code 3")
        failed = _job(client, accepted["job_id"])
        assert failed["status"] == "failed" and "code 3" in failed["error"]
        assert failed["finished_at"] is not None

        assert client.post(SYNC, headers=ADMIN, json={"kind": "discover"}).status_code == 202


def test_a_job_queued_long_ago_and_never_started_does_not_block_its_kind(make_client, db):
    with make_client(*db, launcher=RecordingLauncher()) as client:
        stale = client.post(SYNC, headers=ADMIN, json={"kind": "discover"}).json()["job_id"]
        with db[1].begin() as conn:
            conn.execute(text("UPDATE model_sync_jobs SET created_at = now() - interval '1 hour' WHERE id = :id"),
                         {"id": stale})
        assert client.post(SYNC, headers=ADMIN, json={"kind": "discover"}).status_code == 202
        job = _job(client, stale)
    assert job["status"] == "failed" and "never started" in job["error"]


def test_concurrent_requests_queue_exactly_one_job(make_client, db):
    from concurrent.futures import ThreadPoolExecutor

    with make_client(*db, launcher=RecordingLauncher()) as client, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: client.post(SYNC, headers=ADMIN, json={"kind": "pricing"}).status_code,
                              range(8)))
    assert sorted(codes) == [202] + [409] * 7


def test_a_flow_that_cannot_start_marks_its_job_failed(make_client, db):
    launcher = RecordingLauncher(fail_with=FlowLaunchError("could not start the discover flow process: boom"))
    with make_client(*db, launcher=launcher) as client:
        response = client.post(SYNC, headers=ADMIN, json={"kind": "discover"})
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "flow_launch_failed" and "marked failed" in error["message"]
    with db[1].connect() as conn:
        row = conn.execute(text("SELECT status, error FROM model_sync_jobs ORDER BY created_at DESC LIMIT 1")).one()
    assert row.status == "failed" and "boom" in row.error


def test_a_missing_interpreter_and_an_early_exit_both_fail_the_job(make_client, db, tmp_path):
    missing = SubprocessLauncher(python=str(tmp_path / "no-python"), log_dir=tmp_path)
    with make_client(*db, launcher=missing) as client:
        response = client.post(SYNC, headers=ADMIN, json={"kind": "pricing"})
        assert response.status_code == 503 and response.json()["error"]["code"] == "flow_launch_failed"

    crashing = SubprocessLauncher(python=sys.executable, log_dir=tmp_path)
    crashing.command = lambda request: [sys.executable, "-c", "import sys; print('no Prefect API'); sys.exit(3)"]
    with make_client(*db, launcher=crashing) as client:
        accepted = client.post(SYNC, headers=ADMIN, json={"kind": "pricing"}).json()
        deadline = time.monotonic() + 20
        while (job := _job(client, accepted["job_id"]))["status"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.1)
    assert job["status"] == "failed"
    assert "exited with code 3" in job["error"] and "no Prefect API" in job["error"]


def test_job_ids_unknown_or_malformed(make_client, db):
    with make_client(*db, launcher=RecordingLauncher()) as client:
        unknown = client.get(f"{SYNC}/{uuid.uuid4()}", headers=ADMIN)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "job_not_found"
        malformed = client.get(f"{SYNC}/not-a-uuid", headers=ADMIN)
        assert malformed.status_code == 400 and malformed.json()["error"]["param"] == "job_id"
        bad_kind = client.post(SYNC, headers=ADMIN, json={"kind": "everything"})
        assert bad_kind.status_code == 400 and bad_kind.json()["error"]["param"] == "kind"


@pytest.mark.slow
def test_sync_end_to_end_in_a_subprocess(make_client, prefect_harness, monkeypatch, tmp_path):
    """POST sync, the real flow runs in a child process, GET until succeeded at 100 %."""
    import prefect.settings

    # The harness keeps its API URL in Prefect's settings, not in os.environ: hand it to the
    # child so it does not start an ephemeral server of its own.
    monkeypatch.setenv("PREFECT_API_URL", prefect.settings.PREFECT_API_URL.value())
    # A slice of the real snapshot: the child fetches every model's endpoints too.
    records = json.loads(SNAPSHOT.read_text())["data"][:SLICE]
    snapshot = tmp_path / "models-slice.json"
    snapshot.write_text(json.dumps({"data": records}))
    with migrated_database("minerva_proxy_sync") as (url, engine), \
            running_emulator(snapshot=str(snapshot)) as base_url, \
            make_client(url, engine, OPENROUTER_BASE_URL=base_url) as client:
        response = client.post(SYNC, headers=ADMIN, json={"kind": "discover"})
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        seen, deadline = [], time.monotonic() + 150
        while time.monotonic() < deadline:
            job = _job(client, job_id)
            seen.append((job["status"], job["progress"]["percent"]))
            if job["status"] in ("failed", "quarantined"):
                break
            if job["status"] == "succeeded" and job["progress"]["percent"] == 100.0:
                break
            time.sleep(0.5)
        assert job["status"] == "succeeded", (job, client.app.state.launcher.processes)
        assert job["progress"]["percent"] == 100.0 and job["progress"]["done"] == job["progress"]["total"]
        assert job["counts"]["new"] == SLICE and job["counts"]["total"] == SLICE
        assert job["flow_run_id"] and job["duration_ms"] > 0 and job["started_at"] and job["finished_at"]
        assert seen[0][0] in ("queued", "running")
        catalog = client.get(f"{API}/models/discover", headers=ADMIN).json()
        assert catalog["total"] == SLICE
        assert {m["id"] for m in catalog["data"]} == {r["id"] for r in records}
        assert client.app.state.launcher.processes[uuid.UUID(job_id)].wait(timeout=60) == 0


@pytest.mark.slow
def test_the_prefect_deployment_launcher_creates_a_flow_run_of_the_served_deployment(make_client, db,
                                                                                     prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from flows.discover import discover
    from proxy.jobs import PrefectDeploymentLauncher

    deployment_id = discover.to_deployment(name="discover").apply()  # what `minerva up` serves
    try:
        with make_client(*db, launcher=PrefectDeploymentLauncher()) as client:
            response = client.post(SYNC, headers=ADMIN, json={"kind": "discover"})
            assert response.status_code == 202, response.text
            job_id = response.json()["job_id"]
        with get_client(sync_client=True) as prefect:
            runs = prefect.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
        assert [run.parameters for run in runs] == [{"job_id": job_id}]
    finally:  # leave no scheduled run in the session's harness for anyone to pick up
        with get_client(sync_client=True) as prefect:
            for run in prefect.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))):
                prefect.delete_flow_run(run.id)
            prefect.delete_deployment(deployment_id)
    with db[1].connect() as conn:  # nobody serves the deployment here: the job waits, queued
        assert conn.execute(text("SELECT status FROM model_sync_jobs WHERE id = :id"), {"id": job_id}).scalar() == "queued"


def test_a_refused_deployment_run_fails_the_launch_and_the_job(make_client, db, prefect_harness):
    from proxy.jobs import PrefectDeploymentLauncher

    launcher = PrefectDeploymentLauncher({"pricing": "no-such-flow/no-such-deployment"})
    with make_client(*db, launcher=launcher) as client:
        response = client.post(SYNC, headers=ADMIN, json={"kind": "pricing"})
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "flow_launch_failed" and "no-such-flow/no-such-deployment" in error["message"]
    with db[1].connect() as conn:
        row = conn.execute(text("SELECT status FROM model_sync_jobs ORDER BY created_at DESC LIMIT 1")).one()
    assert row.status == "failed"


def test_a_run_killed_mid_way_does_not_block_the_kind_forever(make_client, db):
    """A job left `running` by a dead flow run (started long ago, never finished) is marked
    failed when the next sync is asked for; a recent running job still blocks (409)."""
    url, engine = db
    with engine.begin() as conn:
        stale = conn.execute(text(
            "INSERT INTO model_sync_jobs (kind, status, started_at) "
            "VALUES ('discover', 'running', now() - interval '2 hours') RETURNING id")).scalar_one()
    launcher = RecordingLauncher()
    with make_client(url, engine, launcher=launcher) as client:
        response = client.post(SYNC, headers=ADMIN, json={"kind": "discover"})
        assert response.status_code == 202, response.text
        dead = _job(client, stale)
        assert dead["status"] == "failed" and dead["error"].startswith("abandoned")
        second = client.post(SYNC, headers=ADMIN, json={"kind": "discover"})
        assert second.status_code == 409
    with engine.begin() as conn:
        fresh = conn.execute(text(
            "INSERT INTO model_sync_jobs (kind, status, started_at) "
            "VALUES ('pricing', 'running', now() - interval '1 minute') RETURNING id")).scalar_one()
    with make_client(url, engine, launcher=launcher) as client:
        blocked = client.post(SYNC, headers=ADMIN, json={"kind": "pricing"})
        assert blocked.status_code == 409 and str(fresh) in blocked.text
