"""Steady chat traffic from a few client threads, for tests that break things under load.

    with ChatLoad(proxy_url, key, model, threads=4) as load:
        ...                                   # break something while requests keep flowing
    load.answers                              # every request that got a response
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the response was complete
    status: int
    request_id: str | None
    stream: bool


@dataclass
class ChatLoad:
    url: str
    key: str
    model: str
    threads: int = 4
    answers: list[Answer] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # no response: (when, error class)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.threads)]

    def __enter__(self) -> "ChatLoad":
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)

    def _run(self, index: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        n = 0
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                n += 1
                stream = (index + n) % 3 == 0  # a third of the requests streamed
                body = {"model": self.model, "stream": stream, "max_tokens": 16,
                        "messages": [{"role": "user", "content": f"load {index}-{n}"}]}
                try:
                    if stream:
                        with client.stream("POST", f"{self.url}/v1/chat/completions", json=body,
                                           headers=headers) as response:
                            response.read()
                    else:
                        response = client.post(f"{self.url}/v1/chat/completions", json=body, headers=headers)
                    answer = Answer(time.monotonic(), response.status_code, response.headers.get("x-request-id"), stream)
                    with self._lock:
                        self.answers.append(answer)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.failures.append((time.monotonic(), exc.__class__.__name__))
                    time.sleep(0.05)

    def count(self) -> int:
        with self._lock:
            return len(self.answers)

    def wait_for_more(self, n: int, timeout: float = 30.0) -> None:
        """Block until ``n`` more answers came in (so the load really runs across an event)."""
        target = self.count() + n
        deadline = time.monotonic() + timeout
        while self.count() < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"the load made no progress: {self.count()} answers, failures {self.failures[-3:]}")
            time.sleep(0.02)


__all__ = ["Answer", "ChatLoad"]
