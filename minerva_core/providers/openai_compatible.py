"""Any OpenAI-compatible chat API: OpenAI itself, Google's and Anthropic's compatible
endpoints, vLLM, and custom gateways. OpenRouter builds on this."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any, AsyncIterator, Mapping

import httpx
import orjson

from minerva_core.errors import UpstreamError, UpstreamProtocolError
from minerva_core.providers.base import Availability, Completion, StreamEvent
from minerva_core.providers.error_mapping import decode_body, decode_exact, status_error, transport_error
from minerva_core.providers.http import NO_RETRY, RetryPolicy, auth_headers, request_with_retries
from minerva_core.providers.sse import SSEParser

PROVIDER_TYPES = frozenset({"openai", "google", "anthropic", "openrouter", "custom"})


class OpenAICompatibleProvider:
    """Chat completions and model listing over the OpenAI wire format."""

    def __init__(
        self,
        *,
        name: str,
        type: str,
        base_url: str,
        api_key: str | None,
        client: httpx.AsyncClient,
        retry: RetryPolicy = RetryPolicy(),
        completion_retry: RetryPolicy = NO_RETRY,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        if type not in PROVIDER_TYPES:
            raise ValueError(f"unknown provider type {type!r}; expected one of {sorted(PROVIDER_TYPES)}")
        self._name = name
        self._type = type
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client = client
        self._retry = retry
        self._completion_retry = completion_retry
        self._headers = auth_headers(api_key, extra_headers)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(name={self._name!r}, base_url={self.base_url!r})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    async def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, exact: bool = False
    ) -> Any:
        """GET an idempotent resource with retries; the decoded body (leading whitespace ok).

        `exact=True` reads JSON numbers with a fraction as Decimal (money: costs, credits)."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        response = await request_with_retries(
            lambda: self._client.get(url, params=params, headers=self._headers),
            policy=self._retry,
            provider=self._name,
        )
        body = decode_exact(response.content) if exact else decode_body(response.content)
        if body is None:
            raise UpstreamProtocolError(f"GET {path} answered with a body that is not JSON", provider=self._name)
        return body

    async def is_available(self) -> Availability:
        started = time.perf_counter()
        try:
            await self.get_json("/models")
        except UpstreamError as exc:  # reported, not raised: this is a health probe
            return Availability(False, None, None, f"{exc.__class__.__name__}: {exc}")
        return Availability(True, None, (time.perf_counter() - started) * 1000, "models listed")

    async def discover_models(self) -> list[dict[str, Any]]:
        body = await self.get_json("/models")
        data = body.get("data") if isinstance(body, dict) else body
        if not isinstance(data, list):
            raise UpstreamProtocolError("/models answered without a model list", provider=self._name)
        return data

    async def generate_completion(self, request: Mapping[str, Any]) -> Completion:
        payload = {**request, "stream": False}
        started = time.perf_counter()
        response = await request_with_retries(
            lambda: self._client.post(
                f"{self.base_url}/chat/completions",
                content=orjson.dumps(payload),
                headers={**self._headers, "content-type": "application/json"},
            ),
            policy=self._completion_retry,
            provider=self._name,
            model=request.get("model"),
        )
        body = decode_body(response.content)
        if not isinstance(body, dict):
            raise UpstreamProtocolError(
                "chat completion answered with a body that is not a JSON object",
                provider=self._name,
                model=request.get("model"),
            )
        if "error" in body and not body.get("choices"):
            raise status_error(
                _embedded_status(body), response.content, response.headers,
                provider=self._name, model=request.get("model"),
            )
        return Completion(
            body=body,
            status_code=response.status_code,
            generation_id=response.headers.get("x-generation-id") or body.get("id"),
            latency_ms=(time.perf_counter() - started) * 1000,
            headers=dict(response.headers),
        )

    async def stream_completion(self, request: Mapping[str, Any]) -> AsyncIterator[StreamEvent]:
        payload = {**request, "stream": True}
        model = request.get("model")
        try:
            async with self._client.stream(
                "POST",
                f"{self.base_url}/chat/completions",
                content=orjson.dumps(payload),
                headers={**self._headers, "content-type": "application/json", "accept": "text/event-stream"},
            ) as response:
                if response.status_code >= 400:
                    content = await response.aread()
                    raise status_error(
                        response.status_code, content, response.headers, provider=self._name, model=model
                    )
                parser = SSEParser()
                async for chunk in response.aiter_raw():
                    for event in parser.feed(chunk):
                        yield event
                for event in parser.close():
                    yield event
        except httpx.HTTPError as exc:
            raise transport_error(exc, provider=self._name, model=model) from exc

    def calculate_cost(self, model_id: str, usage: Mapping[str, Any]) -> Decimal | None:
        cost = usage.get("cost")
        if cost is None:
            return None
        try:
            return Decimal(str(cost))
        except InvalidOperation:
            return None


def _embedded_status(body: dict[str, Any]) -> int:
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and 400 <= code <= 599 else 502
