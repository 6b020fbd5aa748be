"""A chat completion request, read and checked (OpenAI shape plus OpenRouter's extras)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

import orjson

#: Keys that change the transport, not the reply: left out of the content digest.
_TRANSPORT_KEYS = ("stream", "stream_options", "usage")


class ChatError(Exception):
    """A request OpenRouter would answer with an error body instead of a completion."""

    def __init__(
        self,
        status: int,
        message: str,
        metadata: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.metadata = dict(metadata) if metadata is not None else None
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class ChatRequest:
    body: dict[str, Any]
    candidates: tuple[str, ...]
    messages: list[dict[str, Any]]
    stream: bool
    max_tokens: int | None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    #: True/False when the request says so; None leaves it to the model's default.
    reasoning: bool | None = None
    reasoning_max_tokens: int | None = None
    provider: dict[str, Any] = field(default_factory=dict)
    web_search: bool = False
    explicit_cache: str | None = None  # "5m" / "1h" when cache_control breakpoints are present
    user: str | None = None
    digest: bytes = b""


def parse_chat_request(body: Any) -> ChatRequest:
    if not isinstance(body, dict):
        raise ChatError(400, "Request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ChatError(400, "Input required: specify \"messages\" as a non-empty array")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise ChatError(400, "Every message needs a \"role\"")
    candidates = _candidates(body)
    max_tokens = _optional_int(body, "max_tokens") or _optional_int(body, "max_completion_tokens")
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise ChatError(400, "\"tools\" must be an array")
    response_format = body.get("response_format")
    if response_format is not None and not isinstance(response_format, dict):
        raise ChatError(400, "\"response_format\" must be an object")
    reasoning, reasoning_max = _reasoning(body)
    provider = body.get("provider") or {}
    if not isinstance(provider, dict):
        raise ChatError(400, "\"provider\" must be an object")
    return ChatRequest(
        body=body,
        candidates=candidates,
        messages=messages,
        stream=bool(body.get("stream")),
        max_tokens=max_tokens,
        tools=[t for t in tools if isinstance(t, dict)],
        tool_choice=body.get("tool_choice"),
        response_format=response_format,
        reasoning=reasoning,
        reasoning_max_tokens=reasoning_max,
        provider=provider,
        web_search=_wants_web(body),
        explicit_cache=_cache_ttl(body),
        user=body.get("user") if isinstance(body.get("user"), str) else None,
        digest=_digest(body),
    )


def _candidates(body: dict[str, Any]) -> tuple[str, ...]:
    models = body.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ChatError(400, "\"models\" must be an array of model ids")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ChatError(400, "\"model\" must be a string")
    ordered = ([model] if model else []) + [m for m in models if m != model]
    if not ordered:
        raise ChatError(400, "No model specified: set \"model\" or \"models\"")
    return tuple(ordered)


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ChatError(400, f"\"{key}\" must be a positive integer")
    return value


def _reasoning(body: dict[str, Any]) -> tuple[bool | None, int | None]:
    settings = body.get("reasoning")
    if isinstance(settings, dict):
        if settings.get("enabled") is False or settings.get("effort") == "none":
            return False, None
        limit = settings.get("max_tokens")
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None
        return True, limit
    effort = body.get("reasoning_effort")
    if isinstance(effort, str):
        return effort != "none", None
    if body.get("include_reasoning") is True:
        return True, None
    return None, None


def _wants_web(body: dict[str, Any]) -> bool:
    plugins = body.get("plugins") or []
    if any(isinstance(p, dict) and p.get("id") == "web" and p.get("enabled", True) for p in plugins):
        return True
    tools = body.get("tools") or []
    return any(isinstance(t, dict) and str(t.get("type", "")).startswith("web_search") for t in tools)


def _cache_ttl(body: dict[str, Any]) -> str | None:
    ttl: str | None = None

    def visit(node: Any) -> None:
        nonlocal ttl
        if isinstance(node, dict):
            control = node.get("cache_control")
            if isinstance(control, dict):
                ttl = "1h" if control.get("ttl") == "1h" or ttl == "1h" else "5m"
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(body.get("messages"))
    visit({"cache_control": body.get("cache_control")} if body.get("cache_control") else None)
    return ttl


def _digest(body: dict[str, Any]) -> bytes:
    content = {k: v for k, v in body.items() if k not in _TRANSPORT_KEYS}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).digest()
