"""The hot-path HTTP client: one aiohttp.ClientSession per process (created in the
lifespan), keep-alive connections, no per-request session. aiohttp is used here rather
than httpx because it adds far less latency per request (team measurement: +0.8 ms p50 and
64% of the upstream's throughput, against +2.6 ms / 10% for httpx.AsyncClient).

Responses are asked for uncompressed (``Accept-Encoding: identity``), so bytes pass through
untouched and ``auto_decompress`` is off.

Foreign failures are mapped here, at the boundary, by type and status (never by message):

    TimeoutError (asyncio, aiohttp.ServerTimeoutError)           -> UpstreamTimeout
    aiohttp.ClientConnectionError / ClientPayloadError / OSError -> UpstreamConnectionError
    other aiohttp.ClientError                                    -> UpstreamConnectionError
    HTTP status >= 400                                           -> providers.error_mapping.status_error
    200 whose JSON body is {"error": {...}} (no choices)         -> the same, by error.code
    2xx body that is not the JSON object the protocol promises   -> UpstreamProtocolError
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from minerva_core.errors import (
    UpstreamConnectionError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from minerva_core.providers.error_mapping import status_error
from proxy.gateway.config import GatewayConfig

MAX_ERROR_BODY = 64 * 1024


def map_exception(exc: BaseException, model: str | None) -> UpstreamError:
    """An aiohttp/asyncio/OS failure as the typed error tree (by type only)."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return UpstreamTimeout(f"upstream timed out ({exc.__class__.__name__})", model=model)
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError)):
        return UpstreamConnectionError(f"upstream connection failed ({exc.__class__.__name__})", model=model)
    if isinstance(exc, aiohttp.ClientError):
        return UpstreamConnectionError(f"upstream request failed ({exc.__class__.__name__})", model=model)
    return UpstreamError(f"upstream request failed ({exc.__class__.__name__})", model=model)


def body_error(parsed: Any, raw: bytes, model: str | None) -> UpstreamStatusError | None:
    """The error an HTTP 200 body carries (OpenRouter answers 200 and then, if the provider
    fails while it sends keep-alive padding, an error object instead of a completion)."""
    if not isinstance(parsed, dict) or "choices" in parsed:
        return None
    error = parsed.get("error")
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    status = code if isinstance(code, int) and 400 <= code <= 599 else 502
    return status_error(status, raw, {}, model=model)


def parse_completion(raw: bytes, model: str | None) -> dict[str, Any]:
    """A non-stream body (leading keep-alive whitespace allowed) as a dict, or an error."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError("upstream sent a completion that is not JSON", model=model) from None
    failure = body_error(parsed, raw, model)
    if failure is not None:
        raise failure
    if not isinstance(parsed, dict) or not isinstance(parsed.get("choices"), list):
        raise UpstreamProtocolError("upstream sent a completion without choices", model=model)
    return parsed


class Upstream:
    """POST {base_url}/chat/completions through one shared session."""

    def __init__(self, base_url: str, api_key: str | None, config: GatewayConfig) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.config = config
        self.base_headers = {
            "Authorization": f"Bearer {api_key or 'minerva-emulator'}",
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
        }
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        cfg = self.config
        connector = aiohttp.TCPConnector(
            limit=cfg.pool_limit, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None, connect=cfg.connect_timeout_s, sock_connect=cfg.connect_timeout_s,
                sock_read=cfg.read_idle_timeout_s,
            ),
            auto_decompress=False,
            skip_auto_headers=("User-Agent",),
            headers={"User-Agent": "minerva-gateway"},
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def send(self, body: bytes, headers: Mapping[str, str] | None, first_byte_timeout: float,
                   model: str) -> aiohttp.ClientResponse:
        """Send and wait for the response headers (within ``first_byte_timeout``). A status
        >= 400 is read (bounded) and raised as the typed error; the connection is released."""
        assert self.session is not None, "the gateway's upstream session is not started"
        all_headers = self.base_headers if not headers else {**self.base_headers, **headers}
        try:
            async with asyncio.timeout(first_byte_timeout):
                response = await self.session.post(self.url, data=body, headers=all_headers)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError) and not isinstance(exc, TimeoutError):
                raise
            raise map_exception(exc, model) from None
        if response.status >= 400:
            try:
                async with asyncio.timeout(first_byte_timeout):
                    content = await response.content.read(MAX_ERROR_BODY)
            except (TimeoutError, aiohttp.ClientError, OSError):
                content = b""
            finally:
                response.release()
            raise status_error(response.status, content, response.headers, model=model)
        return response

    async def read_body(self, response: aiohttp.ClientResponse, timeout: float, model: str,
                        body_timeout: float | None = None) -> bytes:
        """The whole body of a non-stream answer, within ``timeout``. Leading whitespace is
        OpenRouter's keep-alive padding (sent while the model works, as long as it takes);
        once the JSON itself has begun, a healthy upstream sends the rest at once, so it
        must be complete within ``body_timeout`` more (a body that trickles in is a failing
        upstream, and nothing has reached the client yet: the caller falls back)."""
        content = response.content
        try:
            async with asyncio.timeout(timeout) as scope:
                parts: list[bytes] = []
                begun = body_timeout is None
                while chunk := await content.readany():
                    parts.append(chunk)
                    if not begun and chunk.strip():
                        begun = True
                        limit = asyncio.get_running_loop().time() + body_timeout  # type: ignore[operator]
                        if limit < (scope.when() or limit + 1):
                            scope.reschedule(limit)
                return b"".join(parts)
        except BaseException as exc:
            response.close()
            if isinstance(exc, asyncio.CancelledError) and not isinstance(exc, TimeoutError):
                raise
            raise map_exception(exc, model) from None


__all__ = ["Upstream", "body_error", "map_exception", "parse_completion"]
