"""A tiny TCP round-robin forwarder: one loopback address in front of several backends, as
a load balancer puts one address in front of several proxy processes.

    with round_robin(["127.0.0.1:8001", "127.0.0.1:8002"]) as address:   # "127.0.0.1:PORT"
        ...

Each accepted connection goes to the next backend in turn and is piped both ways until
either side closes; a client that wants one request per backend sends ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Iterator


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except RuntimeError:
            pass


class RoundRobin:
    def __init__(self, backends: list[str]) -> None:
        self.backends = [(host, int(port)) for host, port in (b.rsplit(":", 1) for b in backends)]
        self.next = 0
        self.connections = [0] * len(self.backends)

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        index = self.next
        self.next = (self.next + 1) % len(self.backends)
        self.connections[index] += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.backends[index])
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))


@contextmanager
def round_robin(backends: list[str]) -> Iterator[str]:
    """Serve the forwarder on a free loopback port in a thread; yield "127.0.0.1:PORT"."""
    balancer = RoundRobin(backends)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def serve() -> None:
        server = await asyncio.start_server(balancer.handle, "127.0.0.1", 0, backlog=1024)
        holder["server"] = server
        holder["port"] = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            await server.serve_forever()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(serve())
        except asyncio.CancelledError:
            pass

    thread = threading.Thread(target=main, name="round-robin", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the round-robin forwarder did not start")
    try:
        yield f"127.0.0.1:{holder['port']}"
    finally:
        def stop() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(stop)
        thread.join(timeout=10)
        loop.close()
