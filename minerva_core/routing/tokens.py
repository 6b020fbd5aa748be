"""A cheap, deterministic prompt-token estimate for routing and cost budgeting. Pure.

Routing needs a number before the call, from the request alone, in microseconds, with no
tokenizer download; it only has to be good enough to pick a context window and to budget a
cost. The rule (every constant below is a budgeting figure, not a tokenizer's count):

* text: ``ceil(utf8_bytes / 4)`` per string. For English this is the usual "4 characters per
  token"; for CJK and other multi-byte scripts it gives ~0.75 tokens per character, closer to
  real tokenizers than a character count.
* every message costs ``MESSAGE_OVERHEAD_TOKENS`` (role and separators) and the prompt
  ``REPLY_PRIMING_TOKENS`` once (OpenAI's chat format: 3 to 4 per message, 3 for the reply).
* an image costs ``IMAGE_TOKENS`` (765: a 1024x1024 picture at high detail in OpenAI's
  tiling; OpenRouter bills images of other models per image, which we do not model here),
  an audio clip ``AUDIO_TOKENS``, a file (PDF) ``FILE_TOKENS``, a video ``VIDEO_TOKENS``.
* tool definitions and a json_schema response format count as their compact JSON text.
* tool calls in assistant messages count their name and argument strings.

The estimate is deterministic for the same body (JSON is serialised with sorted keys).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

MESSAGE_OVERHEAD_TOKENS = 4
REPLY_PRIMING_TOKENS = 3
IMAGE_TOKENS = 765
AUDIO_TOKENS = 1_000
FILE_TOKENS = 1_500
VIDEO_TOKENS = 2_000

# content-part type -> (modality, fixed token cost)
_PART_MODALITY: dict[str, tuple[str, int]] = {
    "image_url": ("image", IMAGE_TOKENS),
    "input_image": ("image", IMAGE_TOKENS),
    "image": ("image", IMAGE_TOKENS),
    "input_audio": ("audio", AUDIO_TOKENS),
    "audio_url": ("audio", AUDIO_TOKENS),
    "file": ("file", FILE_TOKENS),
    "input_file": ("file", FILE_TOKENS),
    "video_url": ("video", VIDEO_TOKENS),
    "input_video": ("video", VIDEO_TOKENS),
}
_MODALITY_TOKENS = {
    "image": IMAGE_TOKENS,
    "audio": AUDIO_TOKENS,
    "file": FILE_TOKENS,
    "video": VIDEO_TOKENS,
}
# data: URLs inside image_url parts say what they really hold (the AI SDK sends PDFs so).
_MIME_MODALITY = (("image/", "image"), ("audio/", "audio"), ("video/", "video"))


def text_tokens(text: str) -> int:
    """``ceil(utf8 bytes / 4)``; 0 for the empty string."""
    if not text:
        return 0
    n = len(text)
    if text.isascii():
        return (n + 3) // 4
    return (len(text.encode("utf-8", "surrogatepass")) + 3) // 4


def json_tokens(value: Any) -> int:
    """Tokens of a JSON value as its compact, key-sorted text."""
    try:
        dumped = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                            default=str)
    except (TypeError, ValueError):
        dumped = repr(value)
    return text_tokens(dumped)


def part_modality(part: Mapping[str, Any]) -> str | None:
    """The non-text modality a content part carries (None for text or unknown parts)."""
    kind = part.get("type")
    found = _PART_MODALITY.get(kind) if isinstance(kind, str) else None
    if found is None:
        return None
    modality = found[0]
    if kind == "image_url":
        url = part.get("image_url")
        url = url.get("url") if isinstance(url, Mapping) else url
        if isinstance(url, str) and url.startswith("data:"):
            comma = url.find(",", 5, 256)
            mime = url[5 : comma if comma > 0 else 256].split(";", 1)[0].strip().lower()
            modality = "file"
            for prefix, name in _MIME_MODALITY:
                if mime.startswith(prefix):
                    modality = name
                    break
    return modality


def content_tokens(content: Any, modalities: set[str] | None = None) -> int:
    """Tokens of one message's ``content`` (a string or a list of parts); adds the
    non-text modalities it finds to ``modalities`` when given."""
    if content is None:
        return 0
    if isinstance(content, str):
        return text_tokens(content)
    if not isinstance(content, list):
        return json_tokens(content)
    total = 0
    for part in content:
        if isinstance(part, str):
            total += text_tokens(part)
            continue
        if not isinstance(part, Mapping):
            continue
        text = part.get("text")
        if isinstance(text, str):
            total += text_tokens(text)
            continue
        modality = part_modality(part)
        if modality is not None:
            total += _MODALITY_TOKENS[modality]
            if modalities is not None:
                modalities.add(modality)
        elif part.get("type") not in ("text", None):
            total += json_tokens(part)
    return total


def message_tokens(message: Mapping[str, Any], modalities: set[str] | None = None) -> int:
    total = MESSAGE_OVERHEAD_TOKENS + content_tokens(message.get("content"), modalities)
    name = message.get("name")
    if isinstance(name, str):
        total += text_tokens(name)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                for key in ("name", "arguments"):
                    value = function.get(key)
                    if isinstance(value, str):
                        total += text_tokens(value)
    reasoning = message.get("reasoning")
    if isinstance(reasoning, str):
        total += text_tokens(reasoning)
    return total


def estimate_prompt_tokens(
    messages: Iterable[Any],
    *,
    tools: Any = None,
    response_format: Any = None,
    modalities: set[str] | None = None,
) -> int:
    """The prompt-token estimate of a chat request (see the module docstring)."""
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        if isinstance(message, Mapping):
            total += message_tokens(message, modalities)
        elif isinstance(message, str):
            total += MESSAGE_OVERHEAD_TOKENS + text_tokens(message)
    if tools:
        total += json_tokens(tools)
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        total += json_tokens(response_format.get("json_schema"))
    return total
