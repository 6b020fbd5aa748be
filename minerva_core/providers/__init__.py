"""Upstream providers behind one protocol (AIProvider)."""

from minerva_core.providers.base import AIProvider, Availability, Completion, StreamEvent
from minerva_core.providers.http import NO_RETRY, RetryPolicy, new_client
from minerva_core.providers.openai_compatible import OpenAICompatibleProvider
from minerva_core.providers.openrouter import OpenRouterProvider

__all__ = [
    "AIProvider",
    "Availability",
    "Completion",
    "NO_RETRY",
    "OpenAICompatibleProvider",
    "OpenRouterProvider",
    "RetryPolicy",
    "StreamEvent",
    "new_client",
]
