"""The one shared httpx.AsyncClient per process, and retries for idempotent upstream calls.

Retries happen only on 429 and 5xx answers and on timeouts / connection failures, with
exponential backoff and full jitter, honouring Retry-After (capped). Everything else fails
at once with its typed error.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

import httpx

from minerva_core.errors import UpstreamError
from minerva_core.providers.error_mapping import status_error, transport_error

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=30.0, pool=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50, keepalive_expiry=30)


def new_client(*, timeout: httpx.Timeout = DEFAULT_TIMEOUT, **kwargs) -> httpx.AsyncClient:
    """A client with Minerva's defaults. Create one per process and pass it around."""
    return httpx.AsyncClient(
        timeout=timeout,
        limits=kwargs.pop("limits", DEFAULT_LIMITS),
        headers={"user-agent": "minerva/0.1", **kwargs.pop("headers", {})},
        **kwargs,
    )


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, error: UpstreamError, rng: random.Random) -> float:
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return rng.uniform(0, ceiling)


NO_RETRY = RetryPolicy(attempts=1)


async def request_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    policy: RetryPolicy,
    provider: str,
    model: str | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> httpx.Response:
    """Send; on a retryable failure wait and send again; raise the last typed error."""
    rng = rng or random.Random()
    last: UpstreamError | None = None
    for attempt in range(policy.attempts):
        try:
            response = await send()
        except httpx.HTTPError as exc:
            last = transport_error(exc, provider=provider, model=model)
        else:
            if response.status_code < 400:
                return response
            last = status_error(
                response.status_code, response.content, response.headers, provider=provider, model=model
            )
        if not last.retryable or attempt == policy.attempts - 1:
            raise last
        await sleep(policy.delay(attempt, last, rng))
    assert last is not None
    raise last


def auth_headers(api_key: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    headers = dict(extra or {})
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers
