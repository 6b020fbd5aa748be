"""Run the emulator under uvicorn on a socket it binds itself, and say when it is ready.

The server's HTTP protocol is uvicorn's own, extended only to keep each open connection's
transport in the app state, so the `reset` fault can abort the right one.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Callable

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from minerva_core.emulator.app import create_app
from minerva_core.emulator.config import READY_PREFIX, EmulatorConfig


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _protocol_class(connections: dict[tuple[str, int], asyncio.Transport]) -> type:
    class ConnectionTrackingProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            peer = transport.get_extra_info("peername")
            self._minerva_peer = tuple(peer[:2]) if peer else None
            if self._minerva_peer:
                connections[self._minerva_peer] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            peer = getattr(self, "_minerva_peer", None)
            if peer is not None:
                connections.pop(peer, None)
            super().connection_lost(exc)

    return ConnectionTrackingProtocol


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()


def serve(config: EmulatorConfig, *, announce: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted; `announce(base_url)` runs once requests are accepted."""
    app = create_app(config)
    sock = bind(config.host, config.port)
    base_url = config.base_url(sock.getsockname()[1])
    state = app.state.emulator
    uv_config = uvicorn.Config(
        app,
        http=_protocol_class(state.connections),
        log_level=config.log_level,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
        server_header=False,
    )
    server = _Server(uv_config, lambda: (announce or print_ready)(base_url))
    server.run(sockets=[sock])


def print_ready(base_url: str) -> None:
    print(f"{READY_PREFIX} {base_url}", flush=True)
