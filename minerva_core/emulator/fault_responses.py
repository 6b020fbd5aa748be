"""The answers of wire faults: hang, reset, malformed bodies, drips, and status errors."""

from __future__ import annotations

import contextlib
import socket
import struct
from typing import Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from minerva_core.emulator.chat_request import ChatError
from minerva_core.emulator.jsonbody import EMULATOR_USER_ID, error_response
from minerva_core.emulator.live import LiveResponse
from minerva_core.emulator.streaming import drip


def chat_error_response(error: ChatError) -> Response:
    user_id = EMULATOR_USER_ID if error.status == 429 else None
    return error_response(error.status, error.message, error.metadata, headers=error.headers, user_id=user_id)


class Hang:
    """Never answer; return once the client has given up."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass


class Reset:
    """Drop the TCP connection with no response at all (an RST where the OS allows)."""

    def __init__(self, connections: Mapping[tuple[str, int], object]) -> None:
        self._connections = connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        transport = self._connections.get(tuple(client)) if client else None
        if transport is None:
            raise ConnectionAbortedError("reset fault: this server does not expose its connections")
        sock = transport.get_extra_info("socket")  # type: ignore[attr-defined]
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()  # type: ignore[attr-defined]


def malformed(prefix: bytes, body: bytes, media_type: str) -> Response:
    """HTTP 200 whose body stops halfway: not valid JSON (or not a valid SSE data line)."""
    cut = body[: max(1, len(body) // 2)]
    return Response(prefix + cut, status_code=200, media_type=media_type)


def dripping(data: bytes, interval_s: float, media_type: str, headers: Mapping[str, str] | None = None) -> LiveResponse:
    """HTTP 200 whose body arrives one byte at a time, `interval_s` apart."""
    return LiveResponse(drip(data, interval_s), media_type=media_type, headers=headers)
