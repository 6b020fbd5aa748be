"""What one request consumed, in the units OpenRouter bills.

Counts follow OpenRouter's (OpenAI-style) usage object: `prompt_tokens` counts every input
token, including those read from the cache, written to it, and audio; `completion_tokens`
counts every output token, including reasoning. The detail counts are parts of those totals.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from minerva_core.errors import InvalidUsageError


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Part of completion_tokens.
    reasoning_tokens: int = 0
    #: Part of prompt_tokens: read from the prompt cache.
    cached_tokens: int = 0
    #: Part of prompt_tokens: written to the cache with the default (5-minute) TTL.
    cache_write_tokens: int = 0
    #: Part of prompt_tokens: written to the cache with the 1-hour TTL.
    cache_write_1h_tokens: int = 0
    #: Part of prompt_tokens: uncached audio input.
    audio_tokens: int = 0
    #: Input images billed per image (the `image` price).
    images: int = 0
    #: Output images billed per image (the `image_output` price).
    output_images: int = 0
    web_search_requests: int = 0
    requests: int = 1

    def __post_init__(self) -> None:
        for name in _COUNTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidUsageError(f"{name} must be a whole number >= 0, got {value!r}")
        if self.reasoning_tokens > self.completion_tokens:
            raise InvalidUsageError(
                f"reasoning_tokens {self.reasoning_tokens} > completion_tokens "
                f"{self.completion_tokens}"
            )
        if self.special_prompt_tokens > self.prompt_tokens:
            raise InvalidUsageError(
                f"cached + cache-write + audio tokens ({self.special_prompt_tokens}) exceed "
                f"prompt_tokens {self.prompt_tokens}"
            )

    @property
    def special_prompt_tokens(self) -> int:
        return (
            self.cached_tokens
            + self.cache_write_tokens
            + self.cache_write_1h_tokens
            + self.audio_tokens
        )

    @property
    def uncached_prompt_tokens(self) -> int:
        """Prompt tokens billed at the plain `prompt` price."""
        return self.prompt_tokens - self.special_prompt_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_openrouter(cls, usage: Mapping[str, Any]) -> Usage:
        """Read the `usage` object of an OpenRouter chat completion (or its final chunk)."""
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        tool_details = usage.get("server_tool_use_details") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
            cached_tokens=int(prompt_details.get("cached_tokens") or 0),
            cache_write_tokens=int(prompt_details.get("cache_write_tokens") or 0),
            audio_tokens=int(prompt_details.get("audio_tokens") or 0),
            web_search_requests=int(tool_details.get("web_search_requests") or 0),
        )

    @classmethod
    def from_generation(cls, data: Mapping[str, Any]) -> Usage:
        """Read a `/generation` record; its native token counts are the billed ones."""
        return cls(
            prompt_tokens=int(data.get("native_tokens_prompt") or 0),
            completion_tokens=int(data.get("native_tokens_completion") or 0),
            reasoning_tokens=int(data.get("native_tokens_reasoning") or 0),
            cached_tokens=int(data.get("native_tokens_cached") or 0),
        )


_COUNTS = tuple(f.name for f in fields(Usage))
