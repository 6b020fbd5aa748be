"""Byte producers for chat answers: the SSE stream and the padded non-stream body.

Both honour the time to first token and the time per token, send OpenRouter's keep-alives
while waiting (": OPENROUTER PROCESSING" comments, or whitespace before a JSON body), and
track how far they got in a Progress, which decides what the generation record bills.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import AsyncIterator

from minerva_core.emulator.live import sleep_with_heartbeats
from minerva_core.emulator.planner import ChatPlan
from minerva_core.emulator.render import PADDING, PROCESSING, SSE_DONE, ChunkWriter


@dataclass(frozen=True, slots=True)
class Timing:
    ttft_s: float
    token_s: float
    keepalive_s: float
    padding: bool


@dataclass(slots=True)
class Progress:
    """How far an answer got: pieces sent, when the first token left, how it ended."""

    started: float
    sent: int = 0
    first_token_at: float | None = None
    completed: bool = False
    errored: bool = False

    def mark_first_token(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()

    def latency_ms(self) -> int | None:
        if self.first_token_at is None:
            return None
        return round((self.first_token_at - self.started) * 1000)

    def elapsed_ms(self) -> int:
        return round((time.monotonic() - self.started) * 1000)


async def sse_stream(
    plan: ChatPlan, writer: ChunkWriter, timing: Timing, progress: Progress
) -> AsyncIterator[bytes]:
    """The recorded SSE shape: comment(s), opening chunk, one chunk per token, a finish
    chunk, the usage chunk (empty delta, cost), then `data: [DONE]`. The `midstream` fault
    ends with an error chunk after half the tokens."""
    beat = PROCESSING if timing.padding else None
    if beat:
        yield beat
    async for chunk in sleep_with_heartbeats(timing.ttft_s, timing.keepalive_s, beat):
        yield chunk
    progress.mark_first_token()
    pieces = plan.pieces
    cut = max(1, len(pieces) // 2) if plan.wire_fault == "midstream" else None
    if timing.token_s == 0 and cut is None:
        progress.sent = len(pieces)
        yield writer.whole()
        progress.completed = True
        return
    yield writer.opening()
    for index, piece in enumerate(pieces):
        if index and timing.token_s:
            await asyncio.sleep(timing.token_s)
        yield writer.piece(piece)
        progress.sent = index + 1
        if cut is not None and progress.sent >= cut:
            usage = plan.usage(progress.sent)
            message = "Upstream provider error: the connection to the provider was lost mid-stream"
            yield writer.error(502, message, usage, plan.cost(usage)) + SSE_DONE
            progress.errored = True
            return
    yield _ending(plan, writer)
    progress.completed = True


def _ending(plan: ChatPlan, writer: ChunkWriter) -> bytes:
    usage = plan.usage()
    return writer.finish(plan.finish_reason) + writer.usage(usage, plan.cost(usage)) + SSE_DONE


async def padded_body(
    body: bytes, plan: ChatPlan, timing: Timing, progress: Progress
) -> AsyncIterator[bytes]:
    """Whitespace while the reply is 'generated' (ttft + tokens x token time), then the JSON."""
    beat = PADDING if timing.padding else None
    if beat:
        yield beat
    async for chunk in sleep_with_heartbeats(timing.ttft_s, timing.keepalive_s, beat):
        yield chunk
    progress.mark_first_token()
    total = len(plan.pieces)
    if timing.token_s:
        generate_s = total * timing.token_s
        waited = 0.0
        while waited < generate_s:
            step = min(timing.keepalive_s, generate_s - waited)
            await asyncio.sleep(step)
            waited += step
            progress.sent = min(total, int(waited / timing.token_s))
            if waited < generate_s and beat:
                yield beat
    progress.sent = total
    yield body
    progress.completed = True


async def drip(data: bytes, interval_s: float, size: int = 1) -> AsyncIterator[bytes]:
    """`data` a few bytes at a time, with a long pause before each piece after the first."""
    for start in range(0, len(data), size):
        if start:
            await asyncio.sleep(interval_s)
        yield data[start : start + size]
