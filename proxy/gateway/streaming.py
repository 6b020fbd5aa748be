"""Streaming pass-through. Upstream SSE bytes go to the client as they arrive, one send per
upstream read, cut only at event boundaries (an event is useless to a client until its
blank line anyway). On the side, the few events that matter are parsed: the first (id,
model, provider), the one with a finish_reason, the usage chunk (usage.cost, kept as exact
digits) and error chunks. Everything else is forwarded without being parsed.

* Upstream is always asked for ``stream_options.include_usage``; the usage chunk reaches the
  client only if it asked for it (OpenAI semantics): dropped when it carries nothing else,
  re-serialised without ``usage`` otherwise.
* Before the first data event nothing has been sent, so a failure there is the attempt
  loop's to fall back from (``first_events``); leading ``: OPENROUTER PROCESSING``
  comments are not forwarded.
* After the first byte a failure (upstream reset, idle timeout, a chunk that is not JSON, a
  stream cut short without ``[DONE]``) ends the stream with ``data: {"error": {...}}`` and
  ``data: [DONE]``, never a hang. An upstream error chunk is passed through as it is; the
  request is recorded as error.
* A client disconnect cancels the relay (a watcher on ``receive``), closes the upstream
  response and records the request as cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from minerva_core.errors import UpstreamError, UpstreamProtocolError
from minerva_core.providers.error_mapping import status_error
from proxy.gateway.exchange import Exchange
from proxy.gateway.recording import cost_digits
from proxy.gateway.upstream import map_exception

DONE = b"data: [DONE]\n\n"
_FINISH = (b'"finish_reason":"', b'"finish_reason": "')
_MARK = b'"usage"'


class EventSplitter:
    """Cuts a byte stream at SSE event boundaries: ``feed`` returns the complete events
    received so far as one block (blank lines included), keeping the incomplete rest."""

    __slots__ = ("buffer",)

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, chunk: bytes) -> bytes:
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n")
        data = self.buffer + chunk if self.buffer else chunk
        end = data.rfind(b"\n\n")
        if end < 0:
            self.buffer = data
            return b""
        self.buffer = data[end + 2:]
        return data[:end + 2]


def split_events(block: bytes) -> list[bytes]:
    return [part + b"\n\n" for part in block.split(b"\n\n") if part.strip(b"\n")]


def _interesting(data: bytes) -> bool:
    """Whether a block may hold an event to look into (usage, an error, a finish, [DONE]).
    A quoted key cannot come from inside a JSON string (its quotes would be escaped)."""
    if b"[DONE]" in data or b'"error"' in data or _FINISH[0] in data or _FINISH[1] in data:
        return True
    return _MARK in data and data.count(_MARK) != data.count(b'"usage":null') + data.count(b'"usage": null')


def _complete(data: bytes) -> bool:
    """Whether each event of a block of complete events is a comment or ends the way a
    whole JSON object (or ``[DONE]``) ends: a cheap scan that catches a chunk cut short
    without parsing every event."""
    ends = data.count(b"\n\n")
    comments = data.startswith(b":") + data.count(b"\n\n:")
    return ends == data.count(b"}\n\n") + data.count(b"]\n\n") + comments


def payload_of(event: bytes) -> bytes:
    at = event.find(b"data:")
    return event[at + 5:].strip() if at >= 0 else b""


def is_done(event: bytes) -> bool:
    return event.startswith(b"data:") and payload_of(event) == b"[DONE]"


def error_chunk(message: str, error_type: str = "upstream_error", code: str | None = "upstream_failed") -> bytes:
    body = {"error": {"message": message, "type": error_type, "code": code, "param": None}}
    return b"data: " + orjson.dumps(body) + b"\n\n" + DONE


def event_error(obj: Any, raw: bytes, model: str | None) -> UpstreamError | None:
    """The typed error of an event that is an error chunk."""
    if not isinstance(obj, dict) or not isinstance(obj.get("error"), dict):
        return None
    code = obj["error"].get("code")
    status = code if isinstance(code, int) and 400 <= code <= 599 else 502
    return status_error(status, raw, {}, model=model)


async def first_events(response: aiohttp.ClientResponse, splitter: EventSplitter, timeout: float,
                       model: str, ex: Exchange) -> list[bytes]:
    """Read until the first data event (comments before it are dropped). An error chunk or
    an empty stream there is a failure the caller may fall back from."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                chunk = await response.content.readany()
                if not chunk:
                    raise UpstreamProtocolError("upstream stream ended before any data", model=model)
                events = split_events(splitter.feed(chunk))
                for i, event in enumerate(events):
                    if event.startswith(b":"):
                        continue
                    if is_done(event):
                        raise UpstreamProtocolError("upstream stream ended before any data", model=model)
                    try:
                        obj = orjson.loads(payload_of(event))
                    except orjson.JSONDecodeError:
                        raise UpstreamProtocolError("upstream sent a stream chunk that is not JSON",
                                                    model=model) from None
                    failure = event_error(obj, payload_of(event), model)
                    if failure is not None:
                        raise failure
                    _check_whole(events[i + 1:], model)  # nothing sent yet: a failure here falls back
                    if isinstance(obj, dict):
                        ex.generation_id = ex.generation_id or obj.get("id")
                        ex.model_used = obj.get("model") or ex.model_used
                        ex.provider = obj.get("provider") or ex.provider
                    return events[i:]
    except UpstreamError:
        response.close()
        raise
    except BaseException as exc:
        response.close()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise map_exception(exc, model) from None


def _check_whole(events: list[bytes], model: str) -> None:
    """Raise the failure of the first of these events (not yet sent) that is an error chunk
    or not whole JSON: the attempt loop can still fall back from it."""
    for event in events:
        if event.startswith(b":") or is_done(event) or (b'"error"' not in event and _complete(event)):
            continue
        try:
            obj = orjson.loads(payload_of(event))
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError("upstream sent a stream chunk that is not JSON", model=model) from None
        failure = event_error(obj, payload_of(event), model)
        if failure is not None:
            raise failure


class StreamRelay:
    """An ASGI response that relays an open upstream stream (see the module docstring)."""

    def __init__(self, ex: Exchange, response: aiohttp.ClientResponse, splitter: EventSplitter,
                 pending: list[bytes], headers: list[tuple[bytes, bytes]], on_end: Callable[[Exchange], None]) -> None:
        self.ex = ex
        self.response = response
        self.splitter = splitter
        self.pending = pending
        self.headers = headers
        self.on_end = on_end
        self.ended = False
        self.done = False
        self.broken = False  # the upstream broke the protocol: its connection is not reused
        self.reusable = False

    def process(self, block: bytes) -> bytes:
        """The bytes to forward for a block of complete events: the block itself when no
        event in it needs a look and each looks whole (the common case), else event by event."""
        if not block or (not _interesting(block) and _complete(block)):
            return block
        return self.process_events(split_events(block))

    def process_events(self, events: list[bytes]) -> bytes:
        ex = self.ex
        out = []
        for event in events:
            if self.done:
                break
            if event.startswith(b":") or (not _interesting(event) and _complete(event)):
                out.append(event)
                continue
            if is_done(event):
                self.done = True
                out.append(event)
                continue
            try:
                obj = orjson.loads(payload_of(event))
            except orjson.JSONDecodeError:
                # A broken chunk is never forwarded: the stream ends with an error instead.
                ex.fail("error", UpstreamProtocolError.__name__, 502)
                out.append(error_chunk("the upstream sent a stream chunk that is not JSON"))
                self.done = self.broken = True
                break
            if not isinstance(obj, dict):
                out.append(event)
                continue
            error = obj.get("error")
            if isinstance(error, dict):
                code = error.get("code")
                meta = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
                ex.fail("error", meta.get("error_type") or f"upstream_{code}", code if isinstance(code, int) else 502)
            for choice in obj.get("choices") or ():
                if isinstance(choice, dict) and choice.get("finish_reason"):
                    ex.finish_reason = choice["finish_reason"]
            usage = obj.get("usage")
            if isinstance(usage, dict):
                ex.usage = usage
                ex.cost_text = cost_digits(event)
                if not ex.include_usage and not isinstance(error, dict):
                    event = _without_usage(obj)
                    if event is None:
                        continue
            out.append(event)
        return b"".join(out)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        ex = self.ex
        task = asyncio.current_task()
        disconnected = False

        async def watch() -> None:
            nonlocal disconnected
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected = True
            if task is not None:
                task.cancel()

        watcher = asyncio.get_running_loop().create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.headers})
            data = self.process_events(self.pending)
            self.pending = []
            ex.first_byte_at = time.perf_counter()
            await send({"type": "http.response.body", "body": data, "more_body": True})
            await self._pump(send)
        except asyncio.CancelledError:
            if not disconnected:
                raise
            if task is not None:
                task.uncancel()
            ex.fail("cancelled", "client_disconnected", 499)
        finally:
            watcher.cancel()
            if self.reusable:
                self.response.release()  # read to its end: the connection goes back to the pool
            else:
                self.response.close()
            self.end()

    def end(self) -> None:
        """Hand the request to ``on_end`` (its ledger rows) once."""
        if not self.ended:
            self.ended = True
            self.on_end(self.ex)

    async def _pump(self, send: Any) -> None:
        ex = self.ex
        content = self.response.content
        try:
            while not self.done:
                started = time.perf_counter()
                chunk = await content.readany()
                ex.upstream_s += time.perf_counter() - started
                if not chunk:
                    break
                data = self.process(self.splitter.feed(chunk))
                if data:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            failure = map_exception(exc, ex.attempted_model)
            timeout = isinstance(exc, TimeoutError)
            ex.fail("timeout" if timeout else "error", type(failure).__name__, 504 if timeout else 502)
            await send({"type": "http.response.body", "more_body": True,
                        "body": error_chunk(f"the upstream stream failed: {failure}")})
            self.done = True
        clean = self.done and ex.status != "timeout" and not self.broken
        if not self.done:
            ex.fail("error", "stream_incomplete", 502)
            await send({"type": "http.response.body", "more_body": True,
                        "body": error_chunk("the upstream stream ended without [DONE]")})
        # The rows are spooled before the response's last byte: a client that got a whole
        # response has its ledger row, even if the process dies right after.
        self.end()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if clean:  # after [DONE] only the body's end is left: read it to keep the connection
            try:
                async with asyncio.timeout(1.0):
                    while await content.readany():
                        pass
                self.reusable = content.at_eof()
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass


def _without_usage(obj: dict[str, Any]) -> bytes | None:
    """The usage chunk for a client that did not ask for usage: None when it carries
    nothing else, else the chunk without its usage."""
    choices = obj.get("choices") or []
    empty = all(
        isinstance(c, dict) and not c.get("finish_reason")
        and not any(v for k, v in (c.get("delta") or {}).items() if k != "role")
        for c in choices
    )
    if empty:
        return None
    rest = {k: v for k, v in obj.items() if k != "usage"}
    return b"data: " + orjson.dumps(rest) + b"\n\n"


__all__ = ["DONE", "EventSplitter", "StreamRelay", "error_chunk", "first_events", "split_events"]
