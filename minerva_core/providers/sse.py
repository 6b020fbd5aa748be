"""Incremental parsing of server-sent events as OpenRouter and OpenAI send them.

Tolerant of what the real service does: `: OPENROUTER PROCESSING` comments, events split
across network chunks, CRLF line ends, blank keep-alives, and a final `data: [DONE]`.
"""

from __future__ import annotations

from typing import Iterator

import orjson

from minerva_core.errors import UpstreamProtocolError
from minerva_core.providers.base import StreamEvent


class SSEParser:
    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> Iterator[StreamEvent]:
        self._buffer += chunk
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                return
            line = self._buffer[:newline].rstrip(b"\r")
            self._buffer = self._buffer[newline + 1 :]
            event = self._line(line)
            if event is not None:
                yield event

    def close(self) -> Iterator[StreamEvent]:
        if self._buffer:
            line, self._buffer = self._buffer.rstrip(b"\r"), b""
            event = self._line(line)
            if event is not None:
                yield event
        event = self._dispatch()
        if event is not None:
            yield event

    def _line(self, line: bytes) -> StreamEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(b":"):
            return StreamEvent(comment=line[1:].strip().decode("utf-8", "replace"), raw=line)
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        return None

    def _dispatch(self) -> StreamEvent | None:
        if not self._data:
            return None
        payload = b"\n".join(self._data)
        self._data = []
        if payload.strip() == b"[DONE]":
            return StreamEvent(done=True, raw=payload)
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError("upstream sent a stream chunk that is not JSON") from None
        return StreamEvent(data=data if isinstance(data, dict) else {"value": data}, raw=payload)
