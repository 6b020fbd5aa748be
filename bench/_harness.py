"""Shared benchmark plumbing: free ports, child processes, `hey` runs parsed from its CSV."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    def __init__(self, name: str, argv: list[str], env: dict | None = None, log_dir: Path | None = None):
        self.name = name
        log_dir = log_dir or Path("/tmp")
        self.log_path = log_dir / f"bench-{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, start_new_session=True, cwd=ROOT,
        )

    def wait_http(self, url: str, timeout: float = 120, headers: dict | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=2, headers=headers).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer {url}; log {self.log_path}")

    def rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


@dataclass
class LoadResult:
    n: int
    ok: int
    rps: float
    p50_ms: float
    p99_ms: float
    ttfb_p50_ms: float
    ttfb_p99_ms: float


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    index = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[index]


def hey(url: str, body_file: Path, *, n: int, c: int, auth: str, timeout_s: int = 60) -> LoadResult:
    """Run hey (flags before the URL) and read per-request timings from its CSV output."""
    if shutil.which("hey") is None:
        raise RuntimeError("hey is not installed: apt-get install -y hey")
    argv = [
        "hey", "-n", str(n), "-c", str(c), "-m", "POST", "-t", str(timeout_s),
        "-H", f"Authorization: Bearer {auth}", "-T", "application/json", "-D", str(body_file),
        "-o", "csv", url,
    ]
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    rows = list(csv.DictReader(io.StringIO(out)))
    ok_rows = [r for r in rows if r["status-code"] == "200"]
    times = [float(r["response-time"]) * 1000 for r in ok_rows]
    ttfb = [
        (float(r["DNS+dialup"]) + float(r["Request-write"]) + float(r["Response-delay"])) * 1000
        for r in ok_rows
    ]
    offsets = [float(r["offset"]) + float(r["response-time"]) for r in rows] or [wall]
    span = max(offsets) - min(float(r["offset"]) for r in rows) if rows else wall
    return LoadResult(
        n=len(rows), ok=len(ok_rows), rps=len(ok_rows) / span if span > 0 else float("nan"),
        p50_ms=_pct(times, 0.5), p99_ms=_pct(times, 0.99),
        ttfb_p50_ms=_pct(ttfb, 0.5), ttfb_p99_ms=_pct(ttfb, 0.99),
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def python() -> str:
    return sys.executable
