"""Split an SSE transcript into comments, JSON chunks and the [DONE] sentinel (test helper)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Transcript:
    comments: list[str] = field(default_factory=list)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # "comment" | "data" | "done"
    done: bool = False

    @property
    def content(self) -> str:
        return "".join(
            (c["choices"][0]["delta"].get("content") or "") for c in self.chunks if c.get("choices")
        )

    @property
    def reasoning(self) -> str:
        return "".join(
            (c["choices"][0]["delta"].get("reasoning") or "") for c in self.chunks if c.get("choices")
        )


def parse_sse(text: str, *, exact: bool = False) -> Transcript:
    """Parse events separated by blank lines; `exact` reads numbers as Decimal."""
    transcript = Transcript()
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        for line in block.split("\n"):
            if line.startswith(":"):
                transcript.comments.append(line)
                transcript.order.append("comment")
            elif line.startswith("data: "):
                payload = line[6:]
                if payload == "[DONE]":
                    transcript.done = True
                    transcript.order.append("done")
                else:
                    parse_float = Decimal if exact else float
                    transcript.chunks.append(json.loads(payload, parse_float=parse_float))
                    transcript.order.append("data")
    return transcript
