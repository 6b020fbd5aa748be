"""Starting catalog flows in the background for POST models/sync.

A FlowLauncher starts the flow run for a queued model_sync_jobs row and returns at once;
the flow adopts the row (its id is passed as ``job_id``) and reports progress in it.

* SubprocessLauncher (the default): ``python -m flows.run KIND --job-id ID`` in a detached
  process with the app's environment. A process that cannot be started raises
  FlowLaunchError; one that exits non-zero calls ``on_failure`` so the job is marked failed
  even when the flow never got to do it (import error, Prefect API unreachable, ...).
* PrefectDeploymentLauncher: asks the Prefect API to run the served deployment
  ``KIND/KIND`` (what ``minerva up`` serves) with ``timeout=0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Engine

from minerva_core.errors import FlowLaunchError
from minerva_core.settings import Settings

log = logging.getLogger(__name__)

OnFailure = Callable[[str], None]


@dataclass(frozen=True)
class FlowRequest:
    kind: str  # discover | pricing
    job_id: uuid.UUID
    base_url: str | None = None

    def parameters(self) -> dict[str, Any]:
        params: dict[str, Any] = {"job_id": str(self.job_id)}
        if self.base_url:
            params["base_url"] = self.base_url
        return params


class FlowLauncher(Protocol):
    name: str

    async def launch(self, request: FlowRequest, on_failure: OnFailure) -> None:
        """Start the flow run and return; raise FlowLaunchError when it cannot be started.
        Call on_failure(message) (from any thread) if the run later dies without finishing."""
        ...


class SubprocessLauncher:
    name = "subprocess"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        log_dir: Path | None = None,
        python: str = sys.executable,
        cwd: Path | None = None,
    ) -> None:
        self._env = dict(env or {})
        self._log_dir = log_dir
        self._python = python
        self._cwd = cwd
        self.processes: dict[uuid.UUID, subprocess.Popen[bytes]] = {}

    def command(self, request: FlowRequest) -> list[str]:
        argv = [self._python, "-m", "flows.run", request.kind, "--job-id", str(request.job_id)]
        if request.base_url:
            argv += ["--base-url", request.base_url]
        return argv

    def environment(self) -> dict[str, str]:
        env = {**os.environ, **self._env}
        for name, value in list(env.items()):
            if value == "":  # an empty value in self._env removes the variable
                del env[name]
        env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    async def launch(self, request: FlowRequest, on_failure: OnFailure) -> None:
        log_path = self._log_path(request)
        process = await asyncio.to_thread(self._spawn, request, log_path)  # fork/exec off the loop
        # Keep the running ones (and this one); forget those that have exited.
        self.processes = {k: p for k, p in self.processes.items() if p.poll() is None}
        self.processes[request.job_id] = process
        log.info("started %s flow for job %s (pid %d, log %s)", request.kind, request.job_id, process.pid, log_path)
        threading.Thread(
            target=self._watch, args=(process, request, on_failure, log_path),
            name=f"flow-{request.job_id}", daemon=True,
        ).start()

    def _spawn(self, request: FlowRequest, log_path: Path | None) -> subprocess.Popen[bytes]:
        try:
            with contextlib.ExitStack() as stack:
                output: IO[bytes] | int = subprocess.DEVNULL
                if log_path is not None:
                    log_path.parent.mkdir(parents=True, exist_ok=True)
                    output = stack.enter_context(open(log_path, "ab"))  # the child keeps its own copy
                return subprocess.Popen(
                    self.command(request), env=self.environment(), cwd=self._cwd,
                    stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                    start_new_session=True,  # detached: not killed with the app's process group
                )
        except OSError as exc:
            raise FlowLaunchError(
                f"could not start the {request.kind} flow process: {exc.strerror or exc.__class__.__name__}"
            ) from None

    def _log_path(self, request: FlowRequest) -> Path | None:
        if self._log_dir is None:
            return None
        return self._log_dir / f"sync-{request.kind}-{request.job_id}.log"

    def _watch(self, process: subprocess.Popen[bytes], request: FlowRequest, on_failure: OnFailure,
               log_path: Path | None) -> None:
        code = process.wait()
        if code == 0:
            return
        detail = _last_line(log_path)
        message = f"the {request.kind} flow process exited with code {code}" + (f": {detail}" if detail else "")
        log.warning("job %s: %s", request.job_id, message)
        try:
            on_failure(message)
        except Exception:
            log.exception("could not record the failure of job %s", request.job_id)


class PrefectDeploymentLauncher:
    """Run the deployment ``KIND/KIND`` through the Prefect API (``minerva up`` serves them)."""

    name = "prefect-deployment"

    def __init__(self, deployment_names: Mapping[str, str] | None = None) -> None:
        self._names = dict(deployment_names or {"discover": "discover/discover", "pricing": "pricing/pricing"})

    async def launch(self, request: FlowRequest, on_failure: OnFailure) -> None:
        from prefect.deployments.flow_runs import arun_deployment

        try:
            await arun_deployment(
                self._names[request.kind], parameters=request.parameters(), timeout=0,
                as_subflow=False, idempotency_key=f"model-sync-{request.job_id}",
            )
        except Exception as exc:  # noqa: BLE001 - any refusal of the Prefect API means: not started
            raise FlowLaunchError(
                f"Prefect did not start deployment {self._names[request.kind]}: {exc.__class__.__name__}: {exc}"
            ) from None


def flow_environment(settings: Settings, engine: Engine) -> dict[str, str]:
    """What a flow process needs to work on the app's database and upstream. The app's
    settings win over the inherited environment; "" removes an inherited variable."""
    secret_keys = settings.secret_keys.get_secret_value() if settings.secret_keys else ""
    api_key = settings.openrouter_api_key.get_secret_value() if settings.openrouter_api_key else ""
    return {
        "MINERVA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "MINERVA_HOME": str(settings.home),
        "MINERVA_ENV": settings.env,
        "MINERVA_SECRET_KEYS": secret_keys,
        "OPENROUTER_API_KEY": api_key,
        "OPENROUTER_BASE_URL": settings.openrouter_base_url,
    }


def _last_line(path: Path | None, limit: int = 300) -> str:
    if path is None or not path.exists():
        return ""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        lines = [line.strip() for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


__all__ = [
    "FlowLauncher",
    "FlowRequest",
    "OnFailure",
    "PrefectDeploymentLauncher",
    "SubprocessLauncher",
    "flow_environment",
]
