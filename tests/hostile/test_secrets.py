"""Secrets never appear in the proxy's logs, error bodies or /metrics.

The proxy runs as a real process (``minerva proxy``, every logger at DEBUG, stdout and
stderr captured) with known secret values: the admin token, the OpenRouter key (the emulator
upstream requires exactly that key), the credential encryption key, a virtual key's full
token, a stored provider key and the database password in MINERVA_DATABASE_URL (the local
PostgreSQL trusts loopback, so the password is carried everywhere but never checked). The
test provokes errors of every kind (bad auth, upstream failures through emulator faults, bad
input quoting the secrets, a provider test with a wrong key), then scans the logs, every
response (body and headers) and /metrics for each secret in its plain form and its obvious
encodings (base64 at every alignment, URL-safe base64, hex, percent-encoding)."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from tests.gateway.support import A, B, C, new_key
from tests.hostile.conftest import ADMIN, catalog_database, refresh_views
from tests.support.emulator import arm_fault, clear_faults, running_emulator

MESSAGES = [{"role": "user", "content": "hi"}]
# `minerva proxy` with every logger of the process (the app's and its libraries') at DEBUG.
BOOT = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, "
        "format='%(asctime)s %(name)s %(levelname)s %(message)s'); "
        "from minerva_core.cli import main; sys.argv[0] = 'minerva'; main()")


def encodings(secret: str) -> set[str]:
    """The secret and the forms it would take if something encoded it on the way out."""
    raw = secret.encode()
    forms = {secret, raw.hex(), urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * pad + raw).decode()
            # Only the characters that come from the secret's bytes alone, whatever surrounds it.
            forms.add(text[4 if pad else 0:-4].rstrip("="))
    return {f for f in forms if len(f) >= 12}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exchange:
    """Every response the test saw, for the scan."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.seen: list[str] = []

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        self.seen.append(f"{response.status_code} {method} {path}\n{response.headers}\n{response.text}")
        return response


@pytest.fixture(scope="module")
def secrets() -> dict[str, str]:
    return {
        "admin token": "adm-" + uuid.uuid4().hex + uuid.uuid4().hex[:8],
        "openrouter key": "sk-or-v1-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "credential encryption key": Fernet.generate_key().decode(),
        "database password": "pw-" + uuid.uuid4().hex,
        "stored provider key": "sk-or-v1-stored-" + uuid.uuid4().hex,
        "wrong provider key": "sk-or-v1-wrong-" + uuid.uuid4().hex,
    }


@pytest.fixture(scope="module")
def proxy_process(secrets: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home: Path = tmp_path_factory.mktemp("secrets_home")
    with running_emulator(seed=5, require_key=secrets["openrouter key"]) as upstream, \
            catalog_database("minerva_secrets") as (url, engine):
        refresh_views(engine)
        # Limited to three models, so failing those three fails the request (no other fallback).
        virtual_key, _ = new_key(engine, "secrets-app", allowed_models=[A, B, C])
        secrets["virtual key"] = virtual_key
        port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "MINERVA_DATABASE_URL": make_url(url).set(password=secrets["database password"])
               .render_as_string(hide_password=False),
               "OPENROUTER_API_KEY": secrets["openrouter key"], "OPENROUTER_BASE_URL": upstream,
               "MINERVA_ADMIN_TOKEN": secrets["admin token"],
               "MINERVA_SECRET_KEYS": secrets["credential encryption key"],
               "MINERVA_HOME": str(home), "MINERVA_ENV": "test", "MINERVA_LOG_LEVEL": "DEBUG",
               "MINERVA_GATEWAY_LEDGER_FLUSH_INTERVAL_S": "0.05", "MINERVA_GATEWAY_COOLDOWN_THRESHOLD": "1000"}
        out, err = home / "proxy.stdout", home / "proxy.stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", BOOT, "proxy", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "debug"],
                stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
            base = f"http://127.0.0.1:{port}"
            try:
                _await_ready(process, base, err)
                yield {"url": base, "upstream": upstream, "process": process, "logs": (out, err)}
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(timeout=10)


def _await_ready(process: subprocess.Popen, base: str, err: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the proxy exited: {err.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the proxy did not become ready: {err.read_text()[-3000:]}")


def provoke(call: Exchange, secrets: dict[str, str], upstream: str) -> None:
    vk, admin_token = secrets["virtual key"], secrets["admin token"]
    key = {"Authorization": f"Bearer {vk}"}
    admin = {"Authorization": f"Bearer {admin_token}"}

    # Bad auth, the secrets used in the wrong places and wrong forms.
    for headers in ({}, {"Authorization": f"Bearer {vk}x"}, {"Authorization": f"Basic {vk}"},
                    {"Authorization": f"Bearer {admin_token}"}, {"Authorization": f"Bearer {secrets['openrouter key']}"}):
        call("GET", "/v1/models", headers=headers)
        call("POST", "/v1/chat/completions", headers=headers, json={"messages": MESSAGES})
        call("GET", "/v1/key", headers=headers)
    for headers in ({"Authorization": f"Bearer {vk}"}, {"Authorization": f"Bearer {admin_token}x"},
                    {"Authorization": f"Token {admin_token}"}):
        call("GET", f"{ADMIN}/provider/configure", headers=headers)
        call("POST", f"{ADMIN}/proxy/chat/completions", headers=headers, json={"messages": MESSAGES})
        call("GET", f"{ADMIN}/analytics/usage", headers=headers)

    # Bad input that quotes the secrets.
    for secret in (vk, admin_token, secrets["openrouter key"]):
        call("POST", "/v1/chat/completions", headers={**key, "content-type": "application/json"},
             content=b'{"messages": "' + secret.encode())
        call("POST", "/v1/chat/completions", headers=key, json={"messages": [{"role": secret, "content": "hi"}]})
        call("POST", "/v1/chat/completions", headers=key, json={"messages": MESSAGES, "temperature": secret})
        call("POST", f"{ADMIN}/provider/configure", headers=admin, json={"api_key": secret + " with spaces"})
        call("POST", f"{ADMIN}/provider/configure", headers=admin, json={"api_key": secret, "unknown": secret})
        call("GET", f"{ADMIN}/models/discover", headers=admin, params={"q": secret, "limit": secret})

    # Upstream failures (the emulator fails every chat; the proxy answers 4xx/5xx of its own).
    for fault in ("500", "502", "429", "reset", "malformed", "midstream"):
        for model in (A, B, C):  # the requested model and the key's fallback chain
            arm_fault(upstream, fault, model=model, count=None)
        call("POST", "/v1/chat/completions", headers=key, json={"model": A, "messages": MESSAGES})
        call("POST", "/v1/chat/completions", headers=key, json={"model": A, "messages": MESSAGES, "stream": True})
        clear_faults(upstream)
    ok = call("POST", "/v1/chat/completions", headers=key, json={"model": B, "messages": MESSAGES})
    assert ok.status_code == 200, ok.text  # the right key reaches the upstream

    # Provider key handling: a wrong key, the environment's, a stored one.
    wrong = call("POST", f"{ADMIN}/provider/test", headers=admin, json={"api_key": secrets["wrong provider key"],
                                                                         "base_url": upstream})
    assert wrong.status_code == 200 and wrong.json()["key_valid"] is False, wrong.text
    right = call("POST", f"{ADMIN}/provider/test", headers=admin, json={})
    assert right.status_code == 200 and right.json()["key_valid"] is True, right.text
    stored = call("POST", f"{ADMIN}/provider/configure", headers=admin,
                  json={"api_key": secrets["stored provider key"]})
    assert stored.status_code == 200, stored.text
    call("GET", f"{ADMIN}/provider/configure", headers=admin)

    call("GET", "/v1/key", headers=key)
    call("GET", "/readyz")
    metrics = call("GET", "/metrics")
    assert metrics.status_code == 200 and "minerva" in metrics.text


def test_no_secret_in_logs_error_bodies_or_metrics(proxy_process: dict[str, Any], secrets: dict[str, str]) -> None:
    call = Exchange(proxy_process["url"])
    provoke(call, secrets, proxy_process["upstream"])
    statuses = {int(s.split(" ", 1)[0]) for s in call.seen}
    assert {200, 400, 401, 502} <= statuses, statuses

    process = proxy_process["process"]
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    out, err = proxy_process["logs"]
    logs = out.read_text(errors="replace") + err.read_text(errors="replace")
    assert "Uvicorn running" in logs or "Application startup complete" in logs  # the logs were captured
    assert len(logs.splitlines()) > 20  # debug logging: the provoked errors were logged

    leaks = []
    for name, secret in secrets.items():
        if name == "wrong provider key":
            forms = {secret}  # sent by the client itself; must not be logged or echoed either
        else:
            forms = encodings(secret)
        for form in forms:
            if form in logs:
                leaks.append(f"{name} in the logs as {form!r}")
            for seen in call.seen:
                if form in seen:
                    leaks.append(f"{name} in a response as {form!r}: {seen[:200]!r}")
    assert not leaks, "\n".join(leaks[:20])


def test_the_encodings_scanned_for_are_found_in_text_that_carries_them() -> None:
    secret = "sk-or-v1-" + uuid.uuid4().hex
    forms = encodings(secret)
    for prefix in (b"", b"a", b"ab", b"Authorization: Bearer "):
        assert any(f in base64.b64encode(prefix + secret.encode() + b"!").decode() for f in forms)
        assert any(f in base64.urlsafe_b64encode(prefix + secret.encode()).decode() for f in forms)
    assert any(f in f"url?key={urllib.parse.quote(secret)}" for f in forms)
    assert not any(f in "nothing to see here" * 10 for f in forms)
