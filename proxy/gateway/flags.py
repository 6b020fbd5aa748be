"""The feature flags on the gateway's paths, held in memory: never a query per request.

    ENABLE_OPENROUTER_PROVIDER off   POST /v1/chat/completions, GET /v1/models and the admin
                                     proxy/chat/completions answer 503 feature_disabled (after
                                     the caller is authenticated)
    ENABLE_OPENROUTER_ROUTING off    routing/recommend and routing/strategies* answer 503
                                     feature_disabled (after the admin token); a chat request is
                                     sent to the model it names only (``model``, else the first
                                     of ``models[]``): no strategy, no fallbacks, no cooldown
                                     substitute, ``models[]`` not forwarded; the ledger records
                                     the strategy as ``direct``. A strategy alias, minerva/auto
                                     or no model at all answers 503 feature_disabled;
                                     /v1/models lists the catalog models without the aliases.

The error is the one FastAPI's ``require_flag`` answers (FeatureDisabledError).

Freshness: the overrides are read at start (before the first request) and again whenever
the snapshot store swaps in a snapshot whose ``feature_flags`` version moved (NOTIFY
minerva_catalog within milliseconds, else the version poll, MINERVA_GATEWAY_RELOAD_POLL_S),
plus every ``max_age_s`` in case a change slipped past both. The resolver is the one the
app's FastAPI routes use too (``proxy.routes.flags.get_flag_resolver`` adopts it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from minerva_core.errors import FeatureDisabledError
from minerva_core.flags import AREAS, FlagResolver
from minerva_core.routing import Strategy
from minerva_core.settings import Settings
from proxy.gateway.responses import dumps
from proxy.gateway.route import RouteChoice, choose_route
from proxy.gateway.state import AUTO_ALIAS, KeyInfo, KeyScope, Snapshot, StrategyEntry

log = logging.getLogger(__name__)
TABLE = "feature_flags"
# Routing off: the named model, nothing else (max_fallbacks 0, no chain, no overrides).
DIRECT = StrategyEntry(Strategy("direct", kind="balanced", max_fallbacks=0), alias=None)


class GatewayFlags:
    def __init__(self, settings: Settings, *, max_age_s: float = 30.0) -> None:
        # Until start() the environment (or the default) decides.
        self.resolver = FlagResolver(settings, None, max_age_s=max_age_s)
        self.max_age_s = max_age_s
        self._version: int | None = None
        self._pending = False
        self._reloading: asyncio.Task | None = None
        self._ticker: asyncio.Task | None = None
        self._listings: dict[tuple[int, KeyScope], bytes] = {}

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, engine: Engine) -> None:
        self.resolver.engine = engine
        await asyncio.to_thread(self.resolver.reload)  # failed: last_error says why; env decides
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="gateway-flags-ttl")

    async def stop(self) -> None:
        for task in (self._ticker, self._reloading):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._ticker = self._reloading = None

    def on_snapshot(self, versions: Mapping[str, int]) -> None:
        """The snapshot store swapped a snapshot in (on the event loop): reload the flags, in a
        thread, when their table's version moved since the last look."""
        version = versions.get(TABLE)
        if version == self._version:
            return
        self._version = version
        self._pending = True
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.get_running_loop().create_task(self._reload(), name="gateway-flags-reload")

    async def _reload(self) -> None:
        while self._pending:  # a change during a reload is read by one more
            self._pending = False
            if not await asyncio.to_thread(self.resolver.reload):
                self._version = None  # the next snapshot swap tries again; so does the TTL

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.max_age_s)
            try:
                await asyncio.to_thread(self.resolver.refresh_if_stale)
            except Exception as exc:  # never let the ticker die
                log.warning("feature flags: refresh failed: %s", exc.__class__.__name__)

    # -- the request path (memory only) -----------------------------------------------------
    def on(self, area: str) -> bool:
        """``area``: provider, routing, analytics or migration."""
        return self.resolver.enabled(AREAS[area])

    def disabled(self, area: str) -> FeatureDisabledError:
        state = self.resolver.peek(area)
        return FeatureDisabledError(state.name, area=state.area, deployment=state.deployment,
                                    source=state.source_text)

    def models_body(self, snapshot: Snapshot, scope: KeyScope) -> bytes:
        """/v1/models with routing off: the models a key may use, no strategy aliases."""
        memo_key = (snapshot.serial, scope)
        body = self._listings.get(memo_key)
        if body is None:
            if len(self._listings) >= 256 or any(serial != snapshot.serial for serial, _ in self._listings):
                self._listings.clear()
            data = [m for m in snapshot.listing if scope.allows_model(m["id"])]
            body = self._listings[memo_key] = dumps({"object": "list", "data": data})
        return body


def direct_route(
    flags: GatewayFlags, snapshot: Snapshot, body: dict[str, Any], key: KeyInfo | None, *, default_max_tokens: int
) -> tuple[dict[str, Any], RouteChoice]:
    """Routing off: (the body to send, the choice) for the one model the request names.
    The key's limits on models still apply (403/404 as with routing on)."""
    model = body.get("model")
    chain = body.get("models")
    if model is None and chain:
        model = chain[0]
    if model is None or model == AUTO_ALIAS or model in snapshot.aliases:
        raise flags.disabled("routing")
    direct = {k: v for k, v in body.items() if k != "models"}
    direct["model"] = model
    choice = choose_route(snapshot, direct, key, default_max_tokens=default_max_tokens)
    return direct, replace(choice, strategy=DIRECT)


__all__ = ["DIRECT", "GatewayFlags", "direct_route"]
