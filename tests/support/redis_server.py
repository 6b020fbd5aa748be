"""Redis for tests: the shared server (MINERVA_TEST_REDIS_URL, else 127.0.0.1:6379) under a
key prefix unique to the test run, and private redis-server processes a test may kill.

    with shared_prefix() as (url, prefix):      # every key under `prefix` is deleted after
        ...
    with running_redis(password="pw") as server: # its own redis-server on a free port
        server.url; server.kill()
    dead_url(password="pw")                      # a Redis URL nobody listens on
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def server_url() -> str:
    return os.environ.get("MINERVA_TEST_REDIS_URL", DEFAULT_URL)


def delete_prefix(url: str, prefix: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        return client.delete(*keys) if keys else 0
    finally:
        client.close()


@contextmanager
def shared_prefix() -> Iterator[tuple[str, str]]:
    """(URL of the shared test Redis, a fresh key prefix); the prefix's keys are deleted after."""
    url = server_url()
    prefix = f"minerva-test:{uuid.uuid4().hex[:12]}:"
    try:
        yield url, prefix
    finally:
        delete_prefix(url, prefix)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dead_url(password: str | None = None) -> str:
    """A Redis URL on a loopback port nobody listens on."""
    auth = f":{password}@" if password else ""
    return f"redis://{auth}127.0.0.1:{free_port()}/0"


@dataclass
class RedisProcess:
    process: subprocess.Popen
    port: int
    password: str | None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def running_redis(password: str | None = None, port: int | None = None,
                  start_timeout: float = 10.0) -> Iterator[RedisProcess]:
    """A private redis-server (no persistence) on a free loopback port (or ``port``, e.g.
    to bring back one that was killed); killed afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning"]
    if password:
        argv += ["--requirepass", password]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    server = RedisProcess(process, port, password)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1)
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {port} did not start") from None
                time.sleep(0.05)
        client.close()
        yield server
    finally:
        server.kill()
