"""The AIProvider protocol every upstream implements, and the values it exchanges."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, AsyncIterator, Mapping, Protocol, runtime_checkable


@dataclass(frozen=True)
class Completion:
    """A finished, non-streamed chat completion as the upstream returned it."""

    body: dict[str, Any]
    status_code: int
    generation_id: str | None
    latency_ms: float
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def usage(self) -> dict[str, Any]:
        usage = self.body.get("usage")
        return usage if isinstance(usage, dict) else {}

    @property
    def model(self) -> str | None:
        return self.body.get("model")


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: a parsed `data:` JSON chunk, a comment, or the end marker."""

    data: dict[str, Any] | None = None
    comment: str | None = None
    done: bool = False
    raw: bytes = b""

    @property
    def usage(self) -> dict[str, Any] | None:
        if self.data is None:
            return None
        usage = self.data.get("usage")
        return usage if isinstance(usage, dict) else None

    @property
    def error(self) -> dict[str, Any] | None:
        if self.data is None:
            return None
        error = self.data.get("error")
        return error if isinstance(error, dict) else None


@dataclass(frozen=True)
class Availability:
    reachable: bool
    key_valid: bool | None
    latency_ms: float | None
    detail: str
    credits_remaining: Decimal | None = None


@runtime_checkable
class AIProvider(Protocol):
    """What Minerva needs of any upstream: discover, complete, stream, price."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str:
        """One of provider_type: openai, google, anthropic, openrouter, custom."""
        ...

    async def is_available(self) -> Availability: ...

    async def discover_models(self) -> list[dict[str, Any]]:
        """Raw model records as the upstream lists them (normalised elsewhere, purely)."""
        ...

    async def generate_completion(self, request: Mapping[str, Any]) -> Completion: ...

    def stream_completion(self, request: Mapping[str, Any]) -> AsyncIterator[StreamEvent]: ...

    def calculate_cost(self, model_id: str, usage: Mapping[str, Any]) -> Decimal | None:
        """The upstream's own charge when it reports one, else our estimate, else None."""
        ...
