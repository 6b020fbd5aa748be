"""An ASGI response that sends chunks as they are produced and notices a departing client.

Unlike a buffered body, every chunk goes out when yielded (so delays are real). When the
client disconnects the producer is cancelled and closed at once, and `on_end(cancelled=True)`
runs, so a half-sent stream is recorded as cancelled without waiting for garbage collection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Callable, Mapping

from starlette.types import Receive, Scope, Send

log = logging.getLogger("minerva.emulator")


class LiveResponse:
    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        status: int = 200,
        media_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        on_end: Callable[[bool], None] | None = None,
    ) -> None:
        self._chunks = chunks
        self._status = status
        self._headers = [(b"content-type", media_type.encode("latin-1"))]
        self._headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        self._on_end = on_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self._status, "headers": self._headers})
        producer = asyncio.ensure_future(self._pump(send))
        watcher = asyncio.ensure_future(_until_disconnect(receive))
        cancelled = True
        try:
            await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
            finished = producer.done() and not producer.cancelled()
            if finished and producer.exception() is not None:
                log.error("stream producer failed", exc_info=producer.exception())
            cancelled = not (finished and producer.exception() is None)
        finally:
            for task in (producer, watcher):
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(producer, watcher, return_exceptions=True)
            with contextlib.suppress(BaseException):
                await self._chunks.aclose()  # type: ignore[attr-defined]
            if self._on_end is not None:
                self._on_end(cancelled)

    async def _pump(self, send: Send) -> None:
        async for chunk in self._chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class ChunkedOnce:
    """A whole stream in one chunk, without Content-Length (so still chunked on the wire):
    the cheap path for streams with no delays to honour."""

    def __init__(self, body: bytes, *, media_type: str, headers: Mapping[str, str] | None = None) -> None:
        self._body = body
        self._headers = [(b"content-type", media_type.encode("latin-1"))]
        self._headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self._headers})
        await send({"type": "http.response.body", "body": self._body, "more_body": False})


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def sleep_with_heartbeats(
    seconds: float, every: float, beat: bytes | None
) -> AsyncIterator[bytes]:
    """Wait `seconds`, yielding `beat` every `every` seconds meanwhile (if beat is given)."""
    remaining = seconds
    while remaining > 0:
        step = min(remaining, every)
        await asyncio.sleep(step)
        remaining -= step
        if remaining > 0 and beat:
            yield beat
