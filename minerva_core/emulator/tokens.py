"""Deterministic token estimates: about four characters per token, plus message overhead."""

from __future__ import annotations

from typing import Any, Iterable

import orjson

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 3
IMAGE_TOKENS = 258


def text_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def message_text(content: Any) -> tuple[str, int]:
    """The text of a message's content, and how many image/file/audio parts it carries."""
    if content is None:
        return "", 0
    if isinstance(content, str):
        return content, 0
    if isinstance(content, list):
        texts: list[str] = []
        media = 0
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict):
                media += 1
        return "\n".join(texts), media
    return str(content), 0


def prompt_tokens(messages: Iterable[dict[str, Any]], tools: list[Any] | None = None) -> tuple[int, int]:
    """(prompt tokens, media parts) for a chat request."""
    total = REPLY_PRIMING
    media_total = 0
    for message in messages:
        text, media = message_text(message.get("content"))
        total += MESSAGE_OVERHEAD + text_tokens(text) + media * IMAGE_TOKENS
        if message.get("tool_calls"):
            total += text_tokens(orjson.dumps(message["tool_calls"]).decode())
        media_total += media
    if tools:
        total += text_tokens(orjson.dumps(tools).decode())
    return total, media_total
