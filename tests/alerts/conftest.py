"""Fixtures of the alerts tests: a fresh migrated database per test (global-scope rules must
not see other tests' rows), and real local receivers: an HTTP webhook server and an SMTP
server (aiosmtpd), both on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from minerva_core.db import migrate
from tests.support.database import scratch_database


@pytest.fixture()
def alerts_db_url() -> Iterator[str]:
    with scratch_database("minerva_alerts") as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        yield url


@pytest.fixture()
def alerts_db(alerts_db_url: str) -> Iterator[Engine]:
    engine = create_engine(alerts_db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass
class WebhookReceiver:
    """Records every POST (path, JSON body, headers); answers each path from its script of
    statuses (then 200), e.g. {"/flaky": [500, 200]}."""

    url: str
    requests: list[dict] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)
    retry_after: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [r["body"] for r in self.requests if path is None or r["path"] == path]

    def _next_status(self, path: str) -> int:
        with self.lock:
            statuses = self.script.get(path) or []
            return statuses.pop(0) if statuses else 200


@pytest.fixture()
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"unparsable": raw.decode("utf-8", "replace")}
            status = receiver._next_status(self.path)
            with receiver.lock:
                receiver.requests.append(
                    {"path": self.path, "body": body, "status": status, "headers": dict(self.headers)}
                )
            self.send_response(status)
            if status == 429 and self.path in receiver.retry_after:
                self.send_header("Retry-After", receiver.retry_after[self.path])
            payload = b"ok" if status < 300 else b"nope"
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordingHandler:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        self.messages.append(
            {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "content": envelope.content,
             "tls": session.ssl is not None, "login": getattr(session, "login_data", None)}
        )
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp_receiver() -> Iterator[tuple[RecordingHandler, int]]:
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
