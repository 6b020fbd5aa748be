"""OpenRouter: the OpenAI-compatible chat API plus its catalog, endpoints, generation
lookup, key, credits and activity (the bill)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Mapping

import httpx

from minerva_core.errors import NotFound, UpstreamError, UpstreamProtocolError
from minerva_core.providers.base import Availability
from minerva_core.providers.http import NO_RETRY, RetryPolicy
from minerva_core.providers.openai_compatible import OpenAICompatibleProvider


class OpenRouterProvider(OpenAICompatibleProvider):
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        client: httpx.AsyncClient,
        name: str = "openrouter",
        retry: RetryPolicy = RetryPolicy(),
        completion_retry: RetryPolicy = NO_RETRY,
        app_title: str = "Minerva",
    ) -> None:
        super().__init__(
            name=name,
            type="openrouter",
            base_url=base_url,
            api_key=api_key,
            client=client,
            retry=retry,
            completion_retry=completion_retry,
            extra_headers={"x-title": app_title},
        )

    async def discover_models(self, output_modalities: str = "all") -> list[dict[str, Any]]:
        """Every model, following links.next until it is null (and never looping)."""
        models: list[dict[str, Any]] = []
        url: str | None = "/models"
        params: Mapping[str, Any] | None = {"output_modalities": output_modalities}
        seen: set[str] = set()
        while url:
            if url in seen:
                raise UpstreamProtocolError(f"/models paging loops back to {url}", provider=self.name)
            seen.add(url)
            body = await self.get_json(url, params)
            page = body.get("data") if isinstance(body, dict) else body
            if not isinstance(page, list):
                raise UpstreamProtocolError("/models answered without a data list", provider=self.name)
            models.extend(page)
            next_url = (body.get("links") or {}).get("next") if isinstance(body, dict) else None
            url, params = (self._absolute(next_url), None) if next_url else (None, None)
        return models

    def _absolute(self, link: str) -> str:
        if link.startswith("http"):
            return link
        if link.startswith("/api/v1"):
            origin = self.base_url.split("/api/v1")[0]
            return origin + link
        return f"{self.base_url}/{link.lstrip('/')}"

    async def model_endpoints(self, model_id: str) -> dict[str, Any]:
        """GET /models/{author}/{slug}/endpoints: per-provider prices, uptime, latency."""
        body = await self.get_json(f"/models/{model_id}/endpoints")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise UpstreamProtocolError(f"/models/{model_id}/endpoints answered without data", provider=self.name)
        return data

    async def generation(self, generation_id: str) -> dict[str, Any] | None:
        """GET /generation?id=; None while it is not yet visible (the API is eventually consistent).
        Money fields (total_cost, ...) come back as Decimal."""
        try:
            body = await self.get_json("/generation", {"id": generation_id}, exact=True)
        except NotFound:
            return None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise UpstreamProtocolError("/generation answered without data", provider=self.name)
        return data

    async def key_info(self) -> dict[str, Any]:
        body = await self.get_json("/key")
        return body.get("data", body) if isinstance(body, dict) else {}

    async def credits(self) -> dict[str, Any]:
        body = await self.get_json("/credits", exact=True)
        return body.get("data", body) if isinstance(body, dict) else {}

    async def activity(self, date: str | None = None) -> list[dict[str, Any]]:
        body = await self.get_json("/activity", {"date": date} if date else None, exact=True)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise UpstreamProtocolError("/activity answered without a data list", provider=self.name)
        return data

    async def is_available(self) -> Availability:
        started = time.perf_counter()
        try:
            await self.get_json("/models", {"limit": 1} )
        except UpstreamError as exc:
            return Availability(False, None, None, f"unreachable: {exc}")
        latency = (time.perf_counter() - started) * 1000
        try:
            await self.key_info()
            credits = await self.credits()
        except UpstreamError as exc:
            return Availability(True, False, latency, f"key rejected: {exc}")
        remaining = None
        if "total_credits" in credits and "total_usage" in credits:
            remaining = Decimal(str(credits["total_credits"])) - Decimal(str(credits["total_usage"]))
        return Availability(True, True, latency, "ok", remaining)
