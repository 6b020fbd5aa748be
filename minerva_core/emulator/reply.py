"""What the model 'says': reasoning, a tool call, JSON for a response format, or words.

One piece is one completion token. Tool arguments and JSON are never cut short (they stay
valid); plain text stops at max_tokens with finish reason "length".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from minerva_core.emulator import content
from minerva_core.emulator.catalog import CatalogModel
from minerva_core.emulator.chat_request import ChatRequest
from minerva_core.emulator.tokens import message_text


@dataclass(frozen=True, slots=True)
class Piece:
    kind: str  # "reasoning" | "content" | "tool"
    text: str


def compose(
    request: ChatRequest, model: CatalogModel, rng: random.Random,
    reply_range: tuple[int, int], reply_tokens: int | None,
) -> tuple[list[Piece], dict[str, Any] | None, str]:
    """(pieces, tool call or None, finish reason): reasoning first, then a tool call, JSON for
    a response_format, or words; text stops at max_tokens with finish reason "length"."""
    limit = min((n for n in (request.max_tokens, model.max_completion_tokens) if n), default=None)
    pieces: list[Piece] = []
    if _reasoning_on(request, model):
        count = rng.randint(8, 32)
        if request.reasoning_max_tokens:
            count = min(count, request.reasoning_max_tokens)
        if limit:
            count = min(count, limit - 1)
        pieces += [Piece("reasoning", t) for t in content.text_pieces(rng, count)] if count > 0 else []
    tool = _tool_to_call(request)
    if tool is not None:
        call = content.tool_call(tool, rng)
        pieces += [Piece("tool", t) for t in content.chop(call["function"]["arguments"])]
        return pieces, call, "tool_calls"
    fmt = request.response_format or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        schema = (fmt.get("json_schema") or {}).get("schema") if fmt["type"] == "json_schema" else None
        pieces += [Piece("content", t) for t in content.chop(content.json_text(schema, rng))]
        return pieces, None, "stop"
    wanted = reply_tokens if reply_tokens is not None else rng.randint(*reply_range)
    finish = "stop"
    if limit is not None and len(pieces) + wanted > limit:
        wanted, finish = max(limit - len(pieces), 0), "length"
    pieces += [Piece("content", t) for t in content.text_pieces(rng, wanted)]
    return pieces, None, finish


def _reasoning_on(request: ChatRequest, model: CatalogModel) -> bool:
    settings = model.raw.get("reasoning") or {}
    if settings.get("mandatory") or model.id.endswith(":thinking"):
        return True
    supported = set(model.raw.get("supported_parameters") or ())
    if not supported & {"reasoning", "include_reasoning"}:
        return False
    if request.reasoning is not None:
        return request.reasoning
    return bool(settings.get("default_enabled"))


def _tool_to_call(request: ChatRequest) -> dict[str, Any] | None:
    functions = [t for t in request.tools if isinstance(t.get("function"), dict)]
    choice = request.tool_choice
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return next((t for t in functions if t["function"].get("name") == name), functions[0])
    last = request.messages[-1]
    said = message_text(last.get("content"))[0].lower() if last.get("role") == "user" else ""
    named = next((t for t in functions if str(t["function"].get("name", "")).lower() in said), None)
    if choice == "required":
        return named or functions[0]
    return named
